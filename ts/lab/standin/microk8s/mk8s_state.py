"""mko lab TEST DOUBLE of MicroK8s: shared paths, addon catalogue, datastore and agent client.

This is not MicroK8s. It is a stand-in that runs on mko's lab hosts (systemd-nspawn machines,
where snaps cannot run) so that the Ansible roles written for the real MicroK8s can be exercised.
Python 3 standard library only.

The "datastore" (dqlite in the real thing) is a JSON document replicated between the control
plane nodes by their cluster agents over the lab network; see README.md next to `snap`.
"""
import copy
import fcntl
import hashlib
import http.client
import json
import os
import secrets
import socket
import subprocess
import time
import uuid

AGENT_PORT = 25000
API_PORT = 16443
DQLITE_PORT = 19001
KUBELET_PORT = 10250
SECRET_HEADER = "X-Mko-Cluster-Secret"
# Short: a member that does not answer within this is down.
PING_TIMEOUT = 0.8
# A member that just joined is not demoted for being offline while it is still starting.
JOIN_GRACE_S = 20


def snap_dir():
    return os.environ.get("SNAP", "/snap/microk8s/current")


def snap_data():
    return os.environ.get("SNAP_DATA", "/var/snap/microk8s/current")


def snap_common():
    return os.environ.get("SNAP_COMMON", "/var/snap/microk8s/common")


def data_path(*parts):
    return os.path.join(snap_data(), *parts)


def lock_path(name):
    return data_path("var", "lock", name)


def has_lock(name):
    return os.path.exists(lock_path(name))


def touch_lock(name):
    path = lock_path(name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a"):
        pass
    os.chmod(path, 0o700)


def remove_lock(name):
    try:
        os.remove(lock_path(name))
    except FileNotFoundError:
        pass


def is_worker():
    return has_lock("clustered.lock")


def is_stopped():
    return has_lock("stopped.lock")


DATASTORE = ("var", "kubernetes", "backend", "mko-standin-datastore.json")
WORKER_FILE = ("credentials", "mko-standin-worker.json")
TOKENS_FILE = ("credentials", "cluster-tokens.txt")
IDENTITY_FILE = ("certs", "mko-standin-identity")


def read_json(path, default=None):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (FileNotFoundError, ValueError):
        return default


def write_json(path, value, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as handle:
        json.dump(value, handle, indent=1, sort_keys=True)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def snap_meta():
    """name, version and revision of the installed snap (meta/snap.yaml written by `snap`)."""
    meta = {"version": "unknown", "revision": "x1"}
    try:
        with open(os.path.join(snap_dir(), "meta", "snap.yaml")) as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() in ("version", "revision", "name"):
                    meta[key.strip()] = value.strip().strip("'\"")
    except OSError:
        pass
    return meta


# ---------------------------------------------------------------- network


def hostname():
    return socket.gethostname().lower()


def default_ip():
    """IPv4 address of the interface holding the default route, like utils.sh get_default_ip."""
    try:
        with open("/proc/net/route") as handle:
            lines = handle.read().splitlines()[1:]
        iface = next(l.split()[0] for l in lines if len(l.split()) > 2 and l.split()[1] == "00000000")
        out = subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", iface], capture_output=True, text=True).stdout
        return out.split()[3].split("/")[0]
    except (OSError, StopIteration, IndexError):
        return "none"


def all_ips():
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    except OSError:
        out = []
    return [ip for ip in out if ":" not in ip] or ["none"]


def port_open(host, port, timeout=0.3):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def identity():
    with open(data_path(*IDENTITY_FILE), "rb") as handle:
        return handle.read()


def fingerprint():
    """Stands for the sha256 of the agent's server certificate (this double serves plain HTTP)."""
    return hashlib.sha256(identity()).hexdigest()


# ---------------------------------------------------------------- agent client


class AgentError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def call(host, method, path, body=None, timeout=5.0, secret=None, port=AGENT_PORT):
    """JSON request to a cluster agent. Raises OSError when unreachable, AgentError on non-2xx."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if secret:
            headers[SECRET_HEADER] = secret
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = conn.getresponse()
        raw = response.read().decode() or "{}"
        try:
            data = json.loads(raw)
        except ValueError:
            data = {"error": raw}
        if response.status >= 300:
            raise AgentError(response.status, data.get("error", "HTTP %d" % response.status))
        return data
    finally:
        conn.close()


def local(method, path, body=None, timeout=60.0):
    return call("127.0.0.1", method, "/mko/v1/local/" + path, body, timeout=timeout)


# ---------------------------------------------------------------- addons

# (name, description, version, scope). scope "node": the real check is a file on the node
# (a lock or a binary under $SNAP_DATA); "cluster": the real check looks for Kubernetes objects.
ADDONS = [
    ("cert-manager", "Cloud native certificate management", "1.14.5", "cluster"),
    ("cis-hardening", "Apply CIS K8s hardening", "", "cluster"),
    ("community", "The community addons repository", "", "node"),
    ("dashboard", "The Kubernetes dashboard", "2.7.0", "cluster"),
    ("dns", "CoreDNS", "1.10.1", "cluster"),
    ("gpu", "Alias to nvidia add-on", "", "cluster"),
    ("ha-cluster", "Configure high availability on the current node", "", "node"),
    ("helm", "Helm - the package manager for Kubernetes", "", "node"),
    ("helm3", "Helm 3 - the package manager for Kubernetes", "", "node"),
    ("host-access", "Allow Pods connecting to Host services smoothly", "", "node"),
    ("hostpath-storage", "Storage class; allocates storage from host directory", "1.1.0", "cluster"),
    ("ingress", "Ingress controller for external access", "1.10.1", "cluster"),
    ("kube-ovn", "An advanced network fabric for Kubernetes", "1.12.17", "cluster"),
    ("mayastor", "OpenEBS MayaStor", "2.5.1", "cluster"),
    ("metallb", "Loadbalancer for your Kubernetes cluster", "0.13.10", "cluster"),
    ("metrics-server", "K8s Metrics Server for API access to service metrics", "0.6.3", "cluster"),
    ("minio", "MinIO object storage", "4.5.8", "cluster"),
    ("nvidia", "NVIDIA hardware (GPU and network) support", "", "cluster"),
    ("observability", "A lightweight observability stack for logs, traces and metrics", "", "cluster"),
    ("prometheus", "Prometheus operator for monitoring and logging", "", "cluster"),
    ("rbac", "Role-Based Access Control for authorisation", "", "cluster"),
    ("registry", "Private image registry exposed on localhost:32000", "2.8.1", "cluster"),
    ("rook-ceph", "Distributed Ceph storage using Rook", "v1.11.9", "cluster"),
    ("storage", "Alias to hostpath-storage add-on, deprecated", "", "cluster"),
]
ADDON_NAMES = [a[0] for a in ADDONS]
# Aliases share the real check_status, so both report the same state.
ALIASES = {"storage": "hostpath-storage", "gpu": "nvidia"}
NODE_ADDON_FILES = {
    "community": ("common", "addons", "community", "addons.yaml"),
    "ha-cluster": ("data", "var", "lock", "ha-cluster"),
    "helm": ("data", "bin", "helm"),
    "helm3": ("data", "bin", "helm3"),
    "host-access": ("data", "var", "lock", "host-access-enabled"),
}
# Deployments (namespace/name) an addon brings; calico's controller is always there.
ADDON_DEPLOYMENTS = {
    "dns": ["kube-system/coredns"],
    "hostpath-storage": ["kube-system/hostpath-provisioner"],
    "dashboard": ["kube-system/kubernetes-dashboard", "kube-system/dashboard-metrics-scraper"],
    "metrics-server": ["kube-system/metrics-server"],
    "registry": ["container-registry/registry"],
    "cert-manager": ["cert-manager/cert-manager", "cert-manager/cert-manager-cainjector", "cert-manager/cert-manager-webhook"],
}
BASE_DEPLOYMENTS = ["kube-system/calico-kube-controllers"]
DEFAULT_CLUSTER_ADDONS = ["dns"]


def node_addon_path(name):
    parts = NODE_ADDON_FILES[name]
    return os.path.join(snap_common() if parts[0] == "common" else snap_data(), *parts[1:])


def node_addon_enabled(name):
    return os.path.exists(node_addon_path(name))


def set_node_addon(name, enabled):
    path = node_addon_path(name)
    if enabled:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            if path.endswith(("helm", "helm3")):
                handle.write("#!/bin/sh\necho 'mko lab test double: %s is not really installed' >&2\nexit 1\n" % name)
        os.chmod(path, 0o755 if path.endswith(("helm", "helm3")) else 0o700)
    elif os.path.exists(path):
        os.remove(path)


# ---------------------------------------------------------------- datastore


def now():
    return time.time()


def new_datastore(host, version):
    """A fresh single-node datastore: this node is the only voter, at 127.0.0.1 like a fresh install."""
    created = now()
    store = {
        "cluster_id": str(uuid.uuid4()),
        "secret": secrets.token_hex(16),
        "version": 1,
        "dqlite": [{"hostname": host, "address": "127.0.0.1:%d" % DQLITE_PORT, "role": "voter",
                    "id": secrets.randbelow(2 ** 62)}],
        "nodes": {host: {"address": default_ip(), "created": created, "unschedulable": False,
                         "worker": False, "version": version}},
        "addons": [],
        "deployments": {},
        "namespaces": {n: created for n in ("default", "kube-node-lease", "kube-public", "kube-system")},
    }
    for name in BASE_DEPLOYMENTS:
        store["deployments"][name] = {"replicas": 1, "created": created, "addon": "base"}
    return store


def load_datastore():
    return read_json(data_path(*DATASTORE))


def save_datastore(store):
    write_json(data_path(*DATASTORE), store)
    write_dqlite_yaml(store)


def write_dqlite_yaml(store):
    """cluster.yaml / info.yaml as the real backend dir has them (for anyone who looks)."""
    backend = data_path("var", "kubernetes", "backend")
    roles = {"voter": 0, "standby": 1, "spare": 2}
    lines = []
    for member in store["dqlite"]:
        lines += ["- Address: %s" % member["address"], "  ID: %d" % member["id"],
                  "  Role: %d" % roles[member["role"]]]
    with open(os.path.join(backend, "cluster.yaml"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
    me = next((m for m in store["dqlite"] if m["hostname"] == hostname()), None)
    if me:
        with open(os.path.join(backend, "info.yaml"), "w") as handle:
            handle.write("Address: %s\nID: %d\nRole: %d\n" % (me["address"], me["id"], roles[me["role"]]))


def cluster_addons(store):
    enabled = set(store.get("addons", []))
    for alias, target in ALIASES.items():
        if target in enabled:
            enabled.add(alias)
    return enabled


def member_ip(member):
    return member["address"].rsplit(":", 1)[0]


def normalize_roles(store, alive_addresses):
    """dqlite keeps 3 voters and up to 3 standbys; online members are preferred (go-dqlite roles)."""
    members = store["dqlite"]
    if not members:
        return
    online = lambda m: m["address"] in alive_addresses  # noqa: E731
    voters = [m for m in members if m["role"] == "voter"]
    # An offline voter gives its seat to an online standby or spare, if there is one.
    settled = lambda m: now() - m.get("joined", 0) > JOIN_GRACE_S  # noqa: E731
    for voter in [v for v in voters if not online(v) and settled(v)]:
        candidate = next((m for m in members if m["role"] == "standby" and online(m)), None) or \
            next((m for m in members if m["role"] == "spare" and online(m)), None)
        if candidate is None:
            break
        candidate["role"], voter["role"] = "voter", "spare"
    for wanted, pool in (("voter", ("standby", "spare")), ("standby", ("spare",))):
        limit = 3
        while sum(1 for m in members if m["role"] == wanted) < limit:
            candidate = next((m for m in members if m["role"] in pool and online(m)), None)
            if candidate is None:
                break
            candidate["role"] = wanted
    while sum(1 for m in members if m["role"] == "standby") > 3:
        next(m for m in reversed(members) if m["role"] == "standby")["role"] = "spare"


def next_role(store):
    voters = sum(1 for m in store["dqlite"] if m["role"] == "voter")
    standbys = sum(1 for m in store["dqlite"] if m["role"] == "standby")
    return "voter" if voters < 3 else "standby" if standbys < 3 else "spare"


class OpError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def apply_op(store, op):
    """Applies one mutation to a copy of the datastore and returns it (run on the leader)."""
    store = copy.deepcopy(store)
    kind = op["type"]
    nodes = store["nodes"]
    if kind == "add_node":
        ip = op["address"]
        if any(member_ip(m) == ip for m in store["dqlite"]):
            raise OpError(504, "the joining node (%s) is already known to dqlite" % ip)
        nodes[op["hostname"]] = {"address": ip, "created": now(), "unschedulable": False,
                                 "worker": op["worker"], "version": op["version"]}
        if not op["worker"]:
            store["dqlite"] = [m for m in store["dqlite"] if m["hostname"] != op["hostname"]]
            store["dqlite"].append({"hostname": op["hostname"], "address": "%s:%d" % (ip, DQLITE_PORT),
                                    "role": next_role(store), "id": secrets.randbelow(2 ** 62),
                                    "joined": now()})
    elif kind == "set_dqlite_address":
        for member in store["dqlite"]:
            if member["hostname"] == op["hostname"]:
                member["address"] = op["address"]
    elif kind == "dqlite_remove":
        store["dqlite"] = [m for m in store["dqlite"] if m["address"] != op["address"]]
    elif kind == "delete_node":
        nodes.pop(op["name"], None)
    elif kind == "cordon":
        nodes[op["name"]]["unschedulable"] = op["value"]
        if not op["value"]:
            nodes[op["name"]].pop("drained", None)
    elif kind == "drain":
        nodes[op["name"]].update(unschedulable=True, drained=True)
        store["pods"] = {k: p for k, p in store.get("pods", {}).items() if p["node"] != op["name"]}
    elif kind == "create_pod":
        key = "%s/%s" % (op["namespace"], op["name"])
        if key in store.setdefault("pods", {}):
            raise OpError(409, 'pods "%s" already exists' % op["name"])
        if op["namespace"] not in store["namespaces"]:
            raise OpError(404, 'namespaces "%s" not found' % op["namespace"])
        store["pods"][key] = {"labels": op["labels"], "node": op["node"], "image": op.get("image", ""), "created": now()}
    elif kind == "delete_pod":
        key = "%s/%s" % (op["namespace"], op["name"])
        if store.get("pods", {}).pop(key, None) is None:
            raise OpError(404, 'pods "%s" not found' % op["name"])
    elif kind == "node_version":
        if op["name"] in nodes:
            nodes[op["name"]]["version"] = op["version"]
    elif kind == "addon":
        name = ALIASES.get(op["name"], op["name"])
        enabled = set(store["addons"])
        (enabled.add if op["enabled"] else enabled.discard)(name)
        store["addons"] = sorted(enabled)
        for dep in ADDON_DEPLOYMENTS.get(name, []):
            if op["enabled"]:
                store["deployments"].setdefault(dep, {"replicas": 1, "created": now(), "addon": name})
            else:
                store["deployments"].pop(dep, None)
        if name == "registry":
            if op["enabled"]:
                store["namespaces"].setdefault("container-registry", now())
            else:
                store["namespaces"].pop("container-registry", None)
    elif kind == "scale":
        key = "%s/%s" % (op["namespace"], op["name"])
        if key not in store["deployments"]:
            raise OpError(404, 'deployments.apps "%s" not found' % op["name"])
        store["deployments"][key]["replicas"] = op["replicas"]
    elif kind == "create_deployment":
        key = "%s/%s" % (op["namespace"], op["name"])
        if key in store["deployments"]:
            raise OpError(409, 'deployments.apps "%s" already exists' % op["name"])
        if op["namespace"] not in store["namespaces"]:
            raise OpError(404, 'namespaces "%s" not found' % op["namespace"])
        store["deployments"][key] = {"replicas": op["replicas"], "created": now(), "image": op.get("image", "")}
    elif kind == "delete_deployment":
        key = "%s/%s" % (op["namespace"], op["name"])
        if store["deployments"].pop(key, None) is None:
            raise OpError(404, 'deployments.apps "%s" not found' % op["name"])
    elif kind == "create_namespace":
        if op["name"] in store["namespaces"]:
            raise OpError(409, 'namespaces "%s" already exists' % op["name"])
        store["namespaces"][op["name"]] = now()
    elif kind == "reset_resources":
        store["addons"] = []
        created = now()
        store["deployments"] = {n: {"replicas": 1, "created": created, "addon": "base"} for n in BASE_DEPLOYMENTS}
        store["namespaces"] = {n: store["namespaces"].get(n, created)
                               for n in ("default", "kube-node-lease", "kube-public", "kube-system")}
    elif kind == "restore_resources":
        store["addons"] = list(op["addons"])
        store["deployments"] = copy.deepcopy(op["deployments"])
        store["namespaces"] = dict(op["namespaces"])
    elif kind == "adjust_roles":
        pass
    else:
        raise OpError(400, "unknown operation %r" % kind)
    normalize_roles(store, set(op.get("alive", [])) | {m["address"] for m in store["dqlite"]
                                                        if m["address"].startswith("127.0.0.1:")})
    return store


# ---------------------------------------------------------------- tokens (cluster-tokens.txt)


def _tokens_locked(update):
    path = data_path(*TOKENS_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        lines = [l.strip() for l in handle.read().splitlines() if l.strip()]
        result, lines = update(lines)
        handle.seek(0)
        handle.truncate()
        handle.write("".join(l + "\n" for l in lines))
        return result


def add_token(token, ttl):
    """`<token>|<expiry>` when a TTL is given, else `<token>` (single use), as add_token.py writes."""
    line = "%s|%d" % (token, int(round(now())) + ttl) if ttl != -1 else token
    _tokens_locked(lambda lines: (None, lines + [line]))


def consume_token(token):
    """True when valid. A token without expiry is removed on use, valid or not the join that follows;
    a token with an expiry stays usable until it expires (microk8s-cluster-agent ConsumeClusterToken)."""
    def update(lines):
        for line in lines:
            value, _, expiry = line.partition("|")
            if value != token:
                continue
            if not expiry:
                return True, [l for l in lines if l != line]
            return int(expiry) > now(), lines
        return False, lines
    return _tokens_locked(update)
