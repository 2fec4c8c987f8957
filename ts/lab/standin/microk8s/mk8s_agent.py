#!/usr/bin/env python3
"""mko lab TEST DOUBLE of the MicroK8s daemons (not MicroK8s).

`snap run microk8s.daemon-<name>` starts one of these in its systemd unit
(snap.microk8s.daemon-<name>.service), as snapd does for the real snap:

  cluster-agent     the cluster agent on 0.0.0.0:25000: the join API, the replicated datastore,
                    liveness for the other members, and the local API the `microk8s` CLI uses
  kubelite          holds the API server port 16443 (control plane only) and the kubelet port 10250
  k8s-dqlite        holds the datastore port 19001 (control plane only)
  apiserver-proxy   holds 16443 on workers (the real one is a Traefik proxy to the control plane)
  containerd, apiserver-kicker   idle, so `snap services` and `inspect` see the usual units

The agent protocol (plain HTTP + JSON; the real agent speaks HTTPS) is described in README.md.
"""
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mk8s_state as st  # noqa: E402

LOOP_INTERVAL_S = 2.0
RESOLVE_TIMEOUT_S = 3.0


# ---------------------------------------------------------------- port holders


def hold_ports(ports):
    sockets = []
    for port in ports:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", port))
        sock.listen(64)
        sockets.append(sock)

    def serve(sock):
        while True:
            conn, _ = sock.accept()
            conn.close()

    threads = [threading.Thread(target=serve, args=(s,), daemon=True) for s in sockets]
    for thread in threads:
        thread.start()
    while True:
        time.sleep(3600)


def run_port_holder(name):
    if name == "kubelite":
        hold_ports([st.KUBELET_PORT] if st.is_worker() else [st.API_PORT, st.KUBELET_PORT])
    elif name == "k8s-dqlite":
        if st.has_lock("no-k8s-dqlite"):
            return 0  # a worker runs no datastore: the unit ends at once, as the real one does
        hold_ports([st.DQLITE_PORT])
    elif name == "apiserver-proxy":
        if st.has_lock("no-apiserver-proxy"):
            return 0
        hold_ports([st.API_PORT])
    else:
        while True:
            time.sleep(3600)
    return 0


# ---------------------------------------------------------------- the cluster agent


def resolve(name):
    """Addresses `name` resolves to here (getaddrinfo: /etc/hosts, then DNS), [] after a timeout."""
    found = []

    def lookup():
        try:
            found.extend({info[4][0] for info in socket.getaddrinfo(name, None, socket.AF_INET)})
        except OSError:
            pass

    thread = threading.Thread(target=lookup, daemon=True)
    thread.start()
    thread.join(RESOLVE_TIMEOUT_S)
    return list(found)


class Agent:
    def __init__(self):
        self.lock = threading.RLock()
        self.hostname = st.hostname()
        self.store = st.load_datastore()

    # ------------------------------------------------ identity and liveness

    def worker_info(self):
        return st.read_json(st.data_path(*st.WORKER_FILE), {}) if st.is_worker() else None

    def cluster_id(self):
        worker = self.worker_info()
        if worker is not None:
            return worker.get("cluster_id")
        return self.store["cluster_id"] if self.store else None

    def ping(self):
        return {
            "hostname": self.hostname,
            "cluster_id": self.cluster_id(),
            "version": 0 if st.is_worker() or not self.store else self.store["version"],
            "fingerprint": st.fingerprint(),
            "snap_version": st.snap_meta()["version"],
            "worker": st.is_worker(),
            "kubelite": st.port_open("127.0.0.1", st.KUBELET_PORT),
            "dqlite": st.port_open("127.0.0.1", st.DQLITE_PORT),
        }

    def probe(self, addresses):
        results = {}

        def one(ip):
            try:
                results[ip] = st.call(ip, "GET", "/mko/v1/ping", timeout=st.PING_TIMEOUT)
            except (OSError, st.AgentError, ValueError):
                results[ip] = None

        threads = [threading.Thread(target=one, args=(ip,)) for ip in set(addresses)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    # ------------------------------------------------ the cluster as this node sees it

    def view(self):
        """Members, liveness, quorum and the datastore, after catching up with newer peers."""
        with self.lock:
            store = self.store
            my_ip = st.default_ip()
            others = {st.member_ip(m) for m in store["dqlite"] if m["hostname"] != self.hostname}
            others |= {n["address"] for name, n in store["nodes"].items() if name != self.hostname}
            others.discard("127.0.0.1")
            others.discard(my_ip)
            pings = self.probe(others)
            newest = max((p for p in pings.values() if p and p["cluster_id"] == store["cluster_id"]
                          and not p["worker"]), key=lambda p: p["version"], default=None)
            if newest and newest["version"] > store["version"]:
                source = next(ip for ip, p in pings.items() if p is newest)
                try:
                    fetched = st.call(source, "GET", "/mko/v1/datastore", timeout=2, secret=store["secret"])
                    if fetched["cluster_id"] == store["cluster_id"] and fetched["version"] > store["version"]:
                        self.store = store = fetched
                        st.save_datastore(store)
                except (OSError, st.AgentError):
                    pass

            same = lambda p: p is not None and p["cluster_id"] == store["cluster_id"]  # noqa: E731
            local_dqlite = st.port_open("127.0.0.1", st.DQLITE_PORT)
            local_kubelite = st.port_open("127.0.0.1", st.KUBELET_PORT)
            alive = []
            for member in store["dqlite"]:
                if member["hostname"] == self.hostname:
                    up = local_dqlite
                else:
                    ping = pings.get(st.member_ip(member))
                    up = same(ping) and ping["dqlite"]
                if up:
                    alive.append(member["address"])
            voters = [m for m in store["dqlite"] if m["role"] == "voter"]
            alive_voters = [m for m in voters if m["address"] in alive]
            quorum = len(alive_voters) * 2 > len(voters)
            nodes = {}
            for name, node in store["nodes"].items():
                if name == self.hostname:
                    ready, version = local_kubelite, st.snap_meta()["version"]
                else:
                    ping = pings.get(node["address"])
                    ready = same(ping) and ping["hostname"] == name and ping["kubelite"]
                    version = ping["snap_version"] if ready else node["version"]
                nodes[name] = dict(node, ready=bool(ready), live_version=version)
            leader = next((m for m in store["dqlite"] if m["role"] == "voter" and m["address"] in alive), None)
            api_up = st.port_open("127.0.0.1", st.API_PORT)
            return {
                "hostname": self.hostname,
                "datastore": store,
                "alive": alive,
                "quorum": quorum,
                "leader": leader,
                "nodes": nodes,
                "api": api_up and local_kubelite,
                "ready": quorum and api_up and local_kubelite and any(n["ready"] for n in nodes.values()),
                "peer_versions": [p["version"] for p in pings.values() if same(p)],
            }

    # ------------------------------------------------ writes: forwarded to the leader, replicated

    def submit(self, op):
        view = self.view()
        if not view["quorum"]:
            raise st.OpError(503, "no quorum: the datastore has lost the majority of its voters")
        leader = view["leader"]
        if leader and leader["hostname"] != self.hostname:
            try:
                result = st.call(st.member_ip(leader), "POST", "/mko/v1/apply", {"op": op}, timeout=15,
                                 secret=view["datastore"]["secret"])
                self.accept(result["datastore"])
                return self.store
            except st.AgentError as err:
                raise st.OpError(err.status, err.message)
            except OSError:
                pass  # the leader went away since the ping: take over
        return self.apply_as_leader(op)

    def apply_as_leader(self, op):
        with self.lock:
            view = self.view()
            if not view["quorum"]:
                raise st.OpError(503, "no quorum: the datastore has lost the majority of its voters")
            op = dict(op, alive=view["alive"])
            store = st.apply_op(self.store, op)
            store["version"] = max([self.store["version"]] + view["peer_versions"]) + 1
            targets = [st.member_ip(m) for m in store["dqlite"]
                       if m["hostname"] != self.hostname and m["address"] in view["alive"]]
            threads = [threading.Thread(target=self.push, args=(ip, store)) for ip in targets]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            self.store = store
            st.save_datastore(store)
            return store

    def push(self, ip, store):
        try:
            st.call(ip, "POST", "/mko/v1/datastore", store, timeout=3, secret=store["secret"])
        except (OSError, st.AgentError):
            pass  # it catches up from the others when it answers again

    def accept(self, store):
        with self.lock:
            if self.store and store["cluster_id"] == self.store["cluster_id"] and store["version"] > self.store["version"]:
                self.store = store
                st.save_datastore(store)
                return True
            return False

    # ------------------------------------------------ periodic: catch up, keep dqlite roles right

    def loop(self):
        while True:
            time.sleep(LOOP_INTERVAL_S)
            if st.is_worker() or not self.store:
                continue
            try:
                view = self.view()
                if not view["quorum"] or not view["leader"] or view["leader"]["hostname"] != self.hostname:
                    continue
                probe = st.apply_op(self.store, {"type": "adjust_roles", "alive": view["alive"]})
                if probe["dqlite"] != self.store["dqlite"]:
                    self.apply_as_leader({"type": "adjust_roles"})
                for name, node in view["nodes"].items():
                    if node["ready"] and node["live_version"] != node["version"]:
                        self.apply_as_leader({"type": "node_version", "name": name, "version": node["live_version"]})
            except Exception as err:  # keep the loop alive; the next round retries
                print("mko standin agent loop: %r" % err, file=sys.stderr, flush=True)

    # ------------------------------------------------ join (contacted node)

    def join(self, body, remote_ip, host_ip):
        if not st.consume_token(body.get("token", "")):
            raise st.OpError(500, "invalid token")
        if st.is_worker() or not st.has_lock("ha-cluster"):
            raise st.OpError(501, "not possible to join. This is not an HA MicroK8s cluster")
        if remote_ip == host_ip:
            raise st.OpError(503, "the joining node has the same IP (%s) as the node we contact" % host_ip)
        name = body.get("hostname", "")
        if remote_ip not in resolve(name):
            raise st.OpError(400, 'the hostname (%s) of the joining node does not resolve to the IP "%s". '
                                  'Refusing join' % (name, remote_ip))
        view = self.view()
        if not view["quorum"]:
            raise st.OpError(500, "failed to retrieve dqlite cluster nodes: context deadline exceeded")
        store = view["datastore"]
        if any(st.member_ip(m) == remote_ip for m in store["dqlite"]):
            raise st.OpError(504, "the joining node (%s) is already known to dqlite" % remote_ip)
        if len(store["dqlite"]) == 1 and store["dqlite"][0]["address"].startswith("127.0.0.1:"):
            self.submit({"type": "set_dqlite_address", "hostname": self.hostname,
                         "address": "%s:%d" % (host_ip, st.DQLITE_PORT)})
        worker = body.get("worker") in (True, "as-worker")
        store = self.submit({"type": "add_node", "hostname": name, "address": remote_ip, "worker": worker,
                             "version": body.get("mko_version", "")})
        st.touch_lock("no-cert-reissue")
        response = {
            "ca": "mko lab test double: no real CA\n",
            "callback_token": store["secret"],
            "apiport": str(st.API_PORT),
            "api_authz_mode": "AlwaysAllow",
            "kubelet_args": "--node-ip=%s\n" % remote_ip,
            "hostname_override": remote_ip,
            "cluster_cidr": "10.1.0.0/16",
            "mko_standin": {"cluster_id": store["cluster_id"], "secret": store["secret"]},
        }
        if worker:
            response["ca_key"] = None
            response["control_plane_nodes"] = sorted(st.member_ip(m) for m in store["dqlite"])
        else:
            response.update({
                "ca_key": "mko lab test double: no real CA key\n",
                "service_account_key": "", "admin_token": store["secret"][:32],
                "cluster_cert": "", "cluster_key": "",
                "voters": [m["address"] for m in store["dqlite"] if m["role"] == "voter"],
            })
            response["mko_standin"]["datastore"] = store
        return response

    # ------------------------------------------------ local requests from the `microk8s` CLI

    def adopt(self, body):
        """This node joined: it takes the cluster's datastore (control plane) or becomes a worker."""
        response = body["response"]
        with self.lock:
            if body["worker"]:
                info = {"cluster_id": response["mko_standin"]["cluster_id"],
                        "secret": response["mko_standin"]["secret"],
                        "control_plane": response["control_plane_nodes"]}
                st.write_json(st.data_path(*st.WORKER_FILE), info)
                for lock in ("clustered.lock", "no-k8s-dqlite", "no-cert-reissue"):
                    st.touch_lock(lock)
                st.remove_lock("no-apiserver-proxy")
                write_proxy_provider(info["control_plane"])
            else:
                self.store = response["mko_standin"]["datastore"]
                st.save_datastore(self.store)
                st.touch_lock("no-cert-reissue")
        return {"ok": True}

    def leave(self):
        with self.lock:
            if st.is_worker():
                for lock in ("clustered.lock", "no-k8s-dqlite", "no-cert-reissue"):
                    st.remove_lock(lock)
                st.touch_lock("no-apiserver-proxy")
                try:
                    os.remove(st.data_path(*st.WORKER_FILE))
                except FileNotFoundError:
                    pass
            else:
                view = self.view()
                store = view["datastore"]
                me = next((m for m in store["dqlite"] if m["hostname"] == self.hostname), None)
                voters = [m for m in store["dqlite"] if m["role"] == "voter"]
                if len(voters) == 1 and me is not None and me["role"] == "voter" and len(store["dqlite"]) > 1:
                    raise st.OpError(409, "sole-voter")
                others = [m for m in store["dqlite"] if m["hostname"] != self.hostname]
                if me is not None and others and not me["address"].startswith("127.0.0.1:"):
                    try:
                        self.submit({"type": "dqlite_remove", "address": me["address"]})
                    except st.OpError as err:
                        raise st.OpError(502, "%s|%s" % (others[0]["address"], err.message))
                st.remove_lock("no-cert-reissue")
            self.store = st.new_datastore(self.hostname, st.snap_meta()["version"])
            st.save_datastore(self.store)
        return {"ok": True}


def write_proxy_provider(control_plane):
    """args/traefik/provider.yaml with the control plane endpoints, as a worker's apiserver-proxy has."""
    path = st.data_path("args", "traefik", "provider.yaml")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    servers = "".join("          - address: '%s:%d'\n" % (ip, st.API_PORT) for ip in control_plane)
    with open(path, "w") as handle:
        handle.write("tcp:\n  routers:\n    Router-1:\n      rule: HostSNI(`*`)\n      service: kube-apiserver\n"
                     "      tls:\n        passthrough: true\n  services:\n    kube-apiserver:\n"
                     "      loadBalancer:\n        servers:\n" + servers)


def make_handler(agent):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # the journal gets errors only
            pass

        def reply(self, status, body):
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}") if length else {}

        def authorised(self):
            secret = self.headers.get(st.SECRET_HEADER)
            worker = agent.worker_info()
            expected = worker.get("secret") if worker is not None else (agent.store or {}).get("secret")
            return bool(secret) and secret == expected

        def do_GET(self):
            self.dispatch("GET")

        def do_POST(self):
            self.dispatch("POST")

        def dispatch(self, method):
            path = self.path.split("?")[0]
            remote = self.client_address[0]
            try:
                if method == "POST" and path == "/cluster/api/v2.0/join":
                    host_ip = self.connection.getsockname()[0]
                    return self.reply(200, agent.join(self.body(), remote, host_ip))
                if method == "GET" and path == "/mko/v1/ping":
                    return self.reply(200, agent.ping())
                if path.startswith("/mko/v1/local/"):
                    if remote != "127.0.0.1":
                        return self.reply(403, {"error": "local requests only"})
                    return self.local(method, path[len("/mko/v1/local/"):])
                # What a worker's apiserver-proxy forwards to a control plane: reads and writes of the
                # Kubernetes objects, for a kubectl there that uses the kubelet's kubeconfig.
                if path in ("/mko/v1/view", "/mko/v1/submit") and not st.is_worker() and agent.store:
                    if not self.authorised():
                        return self.reply(401, {"error": "invalid cluster secret"})
                    if method == "GET":
                        return self.reply(200, agent.view())
                    agent.submit(self.body()["op"])
                    return self.reply(200, {"ok": True})
                if path in ("/mko/v1/datastore", "/mko/v1/apply"):
                    if not self.authorised():
                        return self.reply(401, {"error": "invalid cluster secret"})
                    if method == "GET":
                        return self.reply(200, agent.store)
                    if path == "/mko/v1/datastore":
                        return self.reply(200 if agent.accept(self.body()) else 409, {"version": agent.store["version"]})
                    return self.reply(200, {"datastore": agent.apply_as_leader(self.body()["op"])})
                self.reply(404, {"error": "not found"})
            except st.OpError as err:
                self.reply(err.status, {"error": err.message})
            except Exception as err:  # a bug in the double: say so, keep serving
                self.reply(500, {"error": "mko lab test double agent error: %r" % err})

        def local(self, method, name):
            if name == "view" and method == "GET":
                if st.is_worker():
                    return self.reply(200, {"worker": True, "info": agent.worker_info()})
                return self.reply(200, agent.view())
            if name == "op" and method == "POST":
                agent.submit(self.body()["op"])
                return self.reply(200, {"ok": True})
            if name == "adopt" and method == "POST":
                return self.reply(200, agent.adopt(self.body()))
            if name == "leave" and method == "POST":
                return self.reply(200, agent.leave())
            self.reply(404, {"error": "not found"})

    return Handler


def run_cluster_agent():
    agent = Agent()
    if agent.store is None:
        agent.store = st.new_datastore(agent.hostname, st.snap_meta()["version"])
        st.save_datastore(agent.store)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("0.0.0.0", st.AGENT_PORT), make_handler(agent))
    threading.Thread(target=agent.loop, daemon=True).start()
    server.serve_forever()


def set_process_name(name):
    """The command name `ps` and port checks show: the real daemon's, not python3."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass


def main(argv):
    if len(argv) != 2:
        print("usage: mk8s_agent.py <daemon>", file=sys.stderr)
        return 2
    set_process_name({"apiserver-proxy": "cluster-agent", "apiserver-kicker": "apiserver-kick"}.get(argv[1], argv[1]))
    if argv[1] == "cluster-agent":
        run_cluster_agent()
        return 0
    return run_port_holder(argv[1])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
