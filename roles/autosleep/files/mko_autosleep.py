#!/usr/bin/python3
# mko auto-sleep evaluator, deployed by the autosleep role to /usr/local/sbin/mko-autosleep and run
# by mko-autosleep.timer. Python 3 standard library only. Nothing it reads from its configuration is
# evaluated: custom commands and hooks run as argv lists, never through a shell.
#
#   mko-autosleep evaluate          one tick of the timer: checks, idle clock, sleep when due
#   mko-autosleep status            every check and the verdict, as JSON (read by `mko sleep status`)
#   mko-autosleep sleep --trigger mko   the sleep sequence now, without the inactivity wait or grace
#   mko-autosleep resume [--wait N] after a wake: wait until Ready, uncordon what auto-sleep cordoned
#   mko-autosleep journal           the node's record of its sleeps and wakes, as JSON
"""Decides whether this MicroK8s node is idle, and puts it to sleep when it has been for long enough."""
import argparse
import json
import os
import socket
import subprocess
import sys
import time
import uuid

CONFIG = "/etc/mko/autosleep.json"
STATE_DIR = "/var/lib/mko/autosleep"
PREVENT_LABEL = "mko.io/prevent-sleep"
# A boot or a suspend shows as wall-clock time that passed while the monotonic clock stood still.
SUSPEND_GAP = 20.0

DEFAULTS = {
    "node": socket.gethostname().split(".")[0].lower(),
    "role": "worker",
    "sleepable": False,
    "timeout": 1800,
    "cpu_load": 0.5,
    "net_bytes_per_second": 100000,
    "excluded_namespaces": ["kube-system"],
    "action": "suspend",
    "drain": False,
    "drain_timeout": 120,
    "grace": 60,
    "hooks_dir": "/etc/mko/autosleep/pre-sleep.d",
    "hook_timeout": 60,
    "commands": [],
    "command_timeout": 30,
    "kubectl": "/snap/microk8s/current/kubectl",
    "kubeconfig": "/var/snap/microk8s/current/credentials/kubelet.config",
    "microk8s": "/snap/bin/microk8s",
    "min_voters_up": 2,
}

BUSY, IDLE, UNKNOWN = "busy", "idle", "unknown"


# ---------------------------------------------------------------- pure decisions (unit-tested)


def check(name, state, detail):
    return {"check": name, "state": state, "detail": detail}


def pods_checks(items, node, excluded):
    """The pods and prevent-label checks from `kubectl get pods -o json` items bound to this node."""
    running = [p for p in items
               if p.get("spec", {}).get("nodeName") == node
               and p.get("status", {}).get("phase") not in ("Succeeded", "Failed")]

    def daemonset(pod):
        return any(ref.get("kind") == "DaemonSet" for ref in pod.get("metadata", {}).get("ownerReferences", []) or [])

    def name(pod):
        return "%s/%s" % (pod["metadata"].get("namespace", ""), pod["metadata"].get("name", ""))

    work = sorted(name(p) for p in running
                  if not daemonset(p) and p["metadata"].get("namespace") not in excluded)
    prevent = sorted(name(p) for p in running
                     if (p["metadata"].get("labels") or {}).get(PREVENT_LABEL) == "true")
    pods = (check("pods", BUSY, "%d pod(s) outside DaemonSets and %s: %s" % (
        len(work), ", ".join(excluded) or "no excluded namespace", ", ".join(work[:5]) + (" ..." if len(work) > 5 else "")))
        if work else check("pods", IDLE, "no pod outside DaemonSets and %s" % (", ".join(excluded) or "no excluded namespace")))
    label = (check("prevent-label", BUSY, "%s=true on %s" % (PREVENT_LABEL, ", ".join(prevent)))
             if prevent else check("prevent-label", IDLE, "no pod labelled %s=true" % PREVENT_LABEL))
    return [pods, label]


def cpu_check(loadavg_text, cpus, limit):
    load = float(loadavg_text.split()[0])
    per_cpu = load / max(cpus, 1)
    state = BUSY if per_cpu > limit else IDLE
    return check("cpu", state, "1-minute load %.2f on %d CPU(s) = %.2f per CPU (limit %.2f)" % (load, cpus, per_cpu, limit))


def net_bytes(dev_text):
    """Bytes received plus sent on every interface but lo, from /proc/net/dev."""
    total = 0
    for line in dev_text.splitlines()[2:]:
        if ":" not in line:
            continue
        name, data = line.split(":", 1)
        if name.strip() == "lo":
            continue
        fields = data.split()
        total += int(fields[0]) + int(fields[8])
    return total


def net_check(previous, current, limit):
    """previous/current: {"at": seconds, "bytes": n}. previous may be None (first sample)."""
    if not previous or current["at"] - previous["at"] <= 0 or current["bytes"] < previous["bytes"]:
        return check("network", IDLE, "first sample taken: a rate is known from the next check on (limit %d B/s)" % limit)
    rate = (current["bytes"] - previous["bytes"]) / (current["at"] - previous["at"])
    return check("network", BUSY if rate > limit else IDLE, "%.0f B/s over the last %.0f s (limit %d B/s)" % (
        rate, current["at"] - previous["at"], limit))


def sessions_check(who_text, loginctl_text):
    """Interactive sessions: utmp logins (`who`) and logind sessions that have a terminal."""
    ttys = {}
    for line in who_text.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            ttys[parts[1]] = parts[0]
    for line in (loginctl_text or "").splitlines():
        parts = line.split()
        # SESSION UID USER [SEAT] [TTY]: a terminal is named tty* or pts/*.
        tty = next((p for p in parts[3:] if p.startswith(("pts/", "tty"))), None)
        if len(parts) >= 3 and tty:
            ttys.setdefault(tty, parts[2])
    if not ttys:
        return check("sessions", IDLE, "no interactive SSH or logind session")
    return check("sessions", BUSY, "%d interactive session(s): %s" % (
        len(ttys), ", ".join("%s on %s" % (user, tty) for tty, user in sorted(ttys.items()))))


def inhibitors_check(inhibitors, action):
    """inhibitors: [(what, who, why, mode)] from logind. Blocking sleep (suspend) or shutdown (poweroff)."""
    wanted = "sleep" if action == "suspend" else "shutdown"
    blocking = [i for i in inhibitors if i[3] == "block" and wanted in i[0].split(":")]
    if not blocking:
        return check("inhibitors", IDLE, "no systemd inhibitor blocks %s" % wanted)
    return check("inhibitors", BUSY, "; ".join("%s blocks %s: %s" % (i[1], wanted, i[2]) for i in blocking))


def command_check(argv, returncode, error=None):
    label = " ".join(argv)
    if error:
        return check("command", UNKNOWN, "%s: %s" % (label, error))
    if returncode == 0:
        return check("command", BUSY, "%s exited 0 (busy)" % label)
    return check("command", IDLE, "%s exited %d (idle)" % (label, returncode))


def ha_voters(status_yaml):
    """[(ip, role)] from `microk8s status --format yaml` (high-availability.nodes)."""
    nodes, address, in_nodes = [], None, False
    for line in status_yaml.splitlines():
        stripped = line.strip()
        if stripped == "nodes:":
            in_nodes = True
            continue
        if in_nodes and not line.startswith("  "):
            in_nodes = False
        if not in_nodes:
            continue
        if stripped.startswith("- address:"):
            address = stripped.split(":", 1)[1].strip()
        elif stripped.startswith("role:") and address:
            nodes.append((address.rsplit(":", 1)[0], stripped.split(":", 1)[1].strip()))
            address = None
    return nodes


def voters_check(members, own_ips, reachable, minimum):
    """members: [(ip, role)]; reachable: the set of other voters' IPs that answer. A voter may sleep
    only when at least `minimum` other voters stay up."""
    voters = [ip for ip, role in members if role == "voter"]
    if not any(ip in own_ips for ip in voters):
        return check("voters", IDLE, "not a dqlite voter (%d voter(s) in the cluster)" % len(voters))
    others_up = sorted(ip for ip in voters if ip not in own_ips and ip in reachable)
    if len(others_up) < minimum:
        return check("voters", BUSY, "a dqlite voter: sleeping would leave %d voter(s) up (%s), fewer than %d" % (
            len(others_up), ", ".join(others_up) or "none", minimum))
    return check("voters", IDLE, "a dqlite voter, and %d other voter(s) stay up (%s)" % (len(others_up), ", ".join(others_up)))


def verdict(config, checks, idle_since, now):
    """What `sleep status` says: awake (why), or sleeping in how many seconds."""
    if not config["sleepable"]:
        return {"state": "not sleepable", "sleeps_in": None,
                "detail": "auto-sleep is off for this node (mko sleep enable turns it on)"}
    busy = [c for c in checks if c["state"] != IDLE]
    if busy:
        return {"state": "awake", "sleeps_in": None,
                "detail": "; ".join("%s: %s" % (c["check"], c["detail"]) for c in busy)}
    since = idle_since if idle_since is not None else now
    left = max(0, int(round(config["timeout"] - (now - since))))
    return {"state": "idle", "sleeps_in": left,
            "detail": "idle since %s: %s in %d s" % (iso(since), config["action"], left)}


def action_argv(action):
    """The command that puts the node to sleep two seconds from now, by a transient timer."""
    verb = {"suspend": "suspend", "poweroff": "poweroff"}[action]
    return ["systemd-run", "--on-active=2", "--timer-property=AccuracySec=100ms",
            "--description=mko auto-sleep: %s" % verb, "systemctl", verb]


def resumed(marker, boot_id, wall, mono):
    """Whether the node went down (or was suspended) after the marker was written."""
    if marker.get("boot_id") != boot_id:
        return True
    return (wall - marker["wall"]) - (mono - marker["mono"]) > SUSPEND_GAP


def iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


# ---------------------------------------------------------------- the node


def load_config(path=CONFIG):
    """The settings, each of the type of its default (a number written as text still counts)."""
    config = dict(DEFAULTS)
    try:
        with open(path) as handle:
            given = json.load(handle)
    except FileNotFoundError:
        given = {}
    for key, value in given.items():
        default = DEFAULTS.get(key)
        if isinstance(default, bool):
            value = value if isinstance(value, bool) else str(value).lower() in ("true", "yes", "1")
        elif isinstance(default, (int, float)):
            value = type(default)(float(value)) if isinstance(default, float) else int(float(value))
        config[key] = value
    return config


def read_json(path, default):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (FileNotFoundError, ValueError):
        return default


def write_json(path, value):
    """Atomically: a temporary file in the same directory, then rename."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w") as handle:
        json.dump(value, handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def state_path(name):
    return os.path.join(STATE_DIR, name)


def journal_append(entry):
    os.makedirs(STATE_DIR, mode=0o700, exist_ok=True)
    with open(state_path("journal.jsonl"), "a") as handle:
        handle.write(json.dumps(entry, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def journal_read():
    entries = []
    try:
        with open(state_path("journal.jsonl")) as handle:
            for line in handle:
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    continue  # a line cut short by a power cut
    except FileNotFoundError:
        pass
    return entries


def run(argv, timeout=30, env=None):
    """(returncode, stdout, error text or None) of argv, never through a shell."""
    try:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                              universal_newlines=True, env=env)
    except FileNotFoundError:
        return None, "", "%s: not found" % argv[0]
    except PermissionError:
        return None, "", "%s: not executable" % argv[0]
    except subprocess.TimeoutExpired:
        return None, "", "no answer within %d s" % timeout
    if done.returncode != 0:
        return done.returncode, done.stdout, (done.stderr.strip().splitlines() or ["exit %d" % done.returncode])[-1]
    return 0, done.stdout, None


def kubectl(config, *args, timeout=60):
    return run([config["kubectl"], "--kubeconfig", config["kubeconfig"], *args], timeout=timeout)


def boot_id():
    with open("/proc/sys/kernel/random/boot_id") as handle:
        return handle.read().strip()


def own_ips():
    code, out, _ = run(["hostname", "-I"], timeout=5)
    return set(out.split()) if code == 0 else set()


def reachable(ips, port=19001, timeout=1.0):
    up = set()
    for ip in ips:
        try:
            with socket.create_connection((ip, port), timeout=timeout):
                up.add(ip)
        except OSError:
            pass
    return up


def node_checks(config, state, sample=True):
    """Every check, in the order `sleep status` shows them. With sample, the network counter is kept."""
    checks = []
    code, out, error = kubectl(config, "get", "pods", "--all-namespaces", "--field-selector",
                               "spec.nodeName=%s" % config["node"], "-o", "json")
    if error:
        checks += [check("pods", UNKNOWN, "cannot list this node's pods: %s" % error),
                   check("prevent-label", UNKNOWN, "cannot list this node's pods: %s" % error)]
    else:
        try:
            checks += pods_checks(json.loads(out).get("items", []), config["node"], config["excluded_namespaces"])
        except ValueError:
            checks += [check("pods", UNKNOWN, "kubectl printed no JSON"), check("prevent-label", UNKNOWN, "kubectl printed no JSON")]
    with open("/proc/loadavg") as handle:
        checks.append(cpu_check(handle.read(), os.cpu_count() or 1, float(config["cpu_load"])))
    with open("/proc/net/dev") as handle:
        current = {"at": time.time(), "bytes": net_bytes(handle.read())}
    checks.append(net_check(state.get("net"), current, int(config["net_bytes_per_second"])))
    if sample:
        state["net"] = current
    _, who, _ = run(["who"], timeout=10)
    _, sessions, _ = run(["loginctl", "list-sessions", "--no-legend", "--no-pager"], timeout=10)
    checks.append(sessions_check(who, sessions))
    code, out, error = run(["busctl", "call", "--json=short", "org.freedesktop.login1", "/org/freedesktop/login1",
                            "org.freedesktop.login1.Manager", "ListInhibitors"], timeout=10)
    if error:
        checks.append(check("inhibitors", IDLE, "systemd-logind does not answer (%s): no inhibitor can be held" % error))
    else:
        data = json.loads(out).get("data", [[]])[0]
        checks.append(inhibitors_check([(i[0], i[1], i[2], i[3]) for i in data], config["action"]))
    for argv in config["commands"]:
        code, _, error = run(list(argv), timeout=int(config["command_timeout"]))
        checks.append(command_check(argv, code, error if code is None else None))
    if config["role"] == "control-plane":
        checks.append(quorum_check(config))
    return checks


def quorum_check(config):
    """On a control plane: whether its sleep would leave enough dqlite voters up, as of now."""
    code, out, error = run([config["microk8s"], "status", "--format", "yaml"], timeout=60)
    members = ha_voters(out) if code == 0 else []
    if error or not members:
        return check("voters", UNKNOWN, "cannot read the dqlite members from microk8s status: %s" % (
            error or "no high-availability nodes listed"))
    mine = own_ips()
    others = {ip for ip, role in members if role == "voter" and ip not in mine}
    return voters_check(members, mine, reachable(others), int(config["min_voters_up"]))


def node_object(config):
    code, out, error = kubectl(config, "get", "node", config["node"], "-o", "json")
    if error:
        return None, error
    try:
        return json.loads(out), None
    except ValueError:
        return None, "kubectl printed no JSON"


def is_ready(node):
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in node.get("status", {}).get("conditions", []))


def notify(message):
    print(message, file=sys.stderr)
    run(["wall", "--nobanner", message], timeout=10)


def sleep_sequence(config, state, trigger, grace):
    """Hooks, notice and grace, cordon (and drain), journal, then the action 2 s later. Returns the entry."""
    entry = {"id": str(uuid.uuid4()), "at": iso(time.time()), "node": config["node"], "trigger": trigger,
             "action": config["action"], "outcome": "slept", "reason": "", "cordoned": False, "drained": False,
             "hooks": []}
    if trigger == "timer":
        entry["reason"] = "idle for %d s" % config["timeout"]
    else:
        entry["reason"] = "asked by mko sleep now"

    def cancel(reason):
        entry.update(outcome="cancelled", reason=reason)
        notify("mko auto-sleep: %s stays awake: %s" % (config["node"], reason))
        journal_append(entry)
        return entry

    hooks_dir = config["hooks_dir"]
    hooks = sorted(os.listdir(hooks_dir)) if os.path.isdir(hooks_dir) else []
    for name in hooks:
        path = os.path.join(hooks_dir, name)
        if name.startswith(".") or not os.path.isfile(path) or not os.access(path, os.X_OK):
            continue
        env = dict(os.environ, MKO_SLEEP_NODE=config["node"], MKO_SLEEP_ACTION=config["action"], MKO_SLEEP_TRIGGER=trigger)
        code, _, error = run([path], timeout=int(config["hook_timeout"]), env=env)
        entry["hooks"].append({"hook": name, "exit": code, "error": error})
        if code != 0:
            return cancel("pre-sleep hook %s %s" % (name, "exited %d" % code if code is not None else error))

    if grace > 0:
        notify("mko auto-sleep: %s will %s in %d s unless there is activity" % (config["node"], config["action"], grace))
        end = time.time() + grace
        while time.time() < end:
            time.sleep(min(5.0, max(0.0, end - time.time())))
            busy = [c for c in node_checks(config, state) if c["state"] != IDLE]
            if busy:
                return cancel("activity during the grace period: %s: %s" % (busy[0]["check"], busy[0]["detail"]))
    if config["role"] == "control-plane":
        quorum = quorum_check(config)
        if quorum["state"] != IDLE:
            return cancel(quorum["detail"])

    node, error = node_object(config)
    if node is None:
        return cancel("cannot read the node before cordoning it: %s" % error)
    already = bool(node.get("spec", {}).get("unschedulable"))
    if not already:
        _, _, error = kubectl(config, "cordon", config["node"])
        if error:
            return cancel("cordon failed: %s" % error)
    entry["cordoned"] = not already
    write_json(state_path("cordoned.json"), {"cordoned": not already, "entry": entry["id"], "boot_id": boot_id(),
                                             "wall": time.time(), "mono": time.monotonic()})
    if config["drain"]:
        _, _, error = kubectl(config, "drain", config["node"], "--ignore-daemonsets", "--delete-emptydir-data",
                              "--timeout=%ds" % int(config["drain_timeout"]), timeout=int(config["drain_timeout"]) + 30)
        if error:
            if not already:
                kubectl(config, "uncordon", config["node"])
            os.remove(state_path("cordoned.json"))
            entry["cordoned"] = False
            return cancel("drain failed: %s" % error)
        entry["drained"] = True
    journal_append(entry)
    notify("mko auto-sleep: %s: %s now (%s)" % (config["node"], config["action"], entry["reason"]))
    # Two seconds from now, so that an SSH answer (mko sleep now) gets home first. AccuracySec:
    # the default one minute lets systemd batch the timer late.
    _, _, error = run(action_argv(config["action"]), timeout=30)
    if error:
        entry.update(outcome="failed", reason="systemd-run systemctl %s failed: %s" % (config["action"], error))
        journal_append(entry)
    return entry


def resume(config, state, wait, trigger):
    """Uncordon what auto-sleep cordoned once the node is Ready; note the wake in the journal."""
    marker = read_json(state_path("cordoned.json"), None)
    deadline = time.time() + wait
    node, error = node_object(config)
    while (node is None or not is_ready(node)) and time.time() < deadline:
        time.sleep(2)
        node, error = node_object(config)
    result = {"node": config["node"], "ready": bool(node) and is_ready(node), "uncordoned": False,
              "marker": marker is not None, "detail": ""}
    state["idle_since"] = None
    if not result["ready"]:
        result["detail"] = "not Ready yet%s" % (": %s" % error if error else "")
        return result
    if marker is None:
        # The node's own first evaluation after it came back may have been quicker than this.
        with open("/proc/uptime") as handle:
            booted = time.time() - float(handle.read().split()[0])
        woke = [e for e in journal_read() if e.get("outcome") == "woke" and e.get("wall", 0) >= booted]
        if woke and woke[-1].get("uncordoned"):
            result["uncordoned"] = True
            result["detail"] = "Ready; auto-sleep uncordoned it when it came back (%s)" % woke[-1]["at"]
        else:
            result["detail"] = "Ready; auto-sleep had not cordoned it"
        return result
    if marker.get("cordoned"):
        _, _, error = kubectl(config, "uncordon", config["node"])
        if error:
            result["detail"] = "uncordon failed: %s" % error
            return result
        result["uncordoned"] = True
        result["detail"] = "Ready and uncordoned"
    else:
        result["detail"] = "Ready; left cordoned (it was cordoned before auto-sleep)"
    os.remove(state_path("cordoned.json"))
    journal_append({"id": str(uuid.uuid4()), "at": iso(time.time()), "wall": time.time(), "node": config["node"], "trigger": trigger,
                    "action": "wake", "outcome": "woke", "reason": result["detail"], "cordoned": False,
                    "drained": False, "hooks": [], "uncordoned": result["uncordoned"], "slept_entry": marker.get("entry")})
    return result


def evaluate(config, state):
    """One tick of the timer."""
    marker = read_json(state_path("cordoned.json"), None)
    if marker is not None:
        if not resumed(marker, boot_id(), time.time(), time.monotonic()):
            return {"state": "going to sleep", "detail": "asleep or about to be (since %s)" % iso(marker["wall"])}
        return {"state": "woke", "resume": resume(config, state, 0, "boot")}
    if not config["sleepable"]:
        state["idle_since"] = None
        return verdict(config, [], None, time.time())
    checks = node_checks(config, state)
    now = time.time()
    if any(c["state"] != IDLE for c in checks):
        state["idle_since"] = None
    elif state.get("idle_since") is None:
        state["idle_since"] = now
    result = verdict(config, checks, state.get("idle_since"), now)
    if result["state"] == "idle" and result["sleeps_in"] == 0:
        entry = sleep_sequence(config, state, "timer", int(config["grace"]))
        state["idle_since"] = None
        result = {"state": entry["outcome"], "entry": entry}
    return result


def status(config, state):
    marker = read_json(state_path("cordoned.json"), None)
    checks = node_checks(config, state, sample=False)
    result = verdict(config, checks, state.get("idle_since"), time.time())
    if marker is not None and not resumed(marker, boot_id(), time.time(), time.monotonic()):
        result = {"state": "going to sleep", "sleeps_in": 0, "detail": "cordoned by auto-sleep at %s" % iso(marker["wall"])}
    return dict(result, node=config["node"], role=config["role"], sleepable=config["sleepable"],
                action=config["action"], timeout=config["timeout"], checks=checks,
                idle_since=iso(state["idle_since"]) if state.get("idle_since") else None)


def main(argv):
    parser = argparse.ArgumentParser(prog="mko-autosleep", description=__doc__)
    parser.add_argument("--config", default=CONFIG)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("evaluate")
    sub.add_parser("status")
    sub.add_parser("journal")
    sleep = sub.add_parser("sleep")
    sleep.add_argument("--trigger", default="mko", choices=["mko", "timer"])
    sleep.add_argument("--grace", type=int, default=0)
    wake = sub.add_parser("resume")
    wake.add_argument("--wait", type=int, default=0)
    args = parser.parse_args(argv)
    config = load_config(args.config)
    state = read_json(state_path("state.json"), {})
    if args.command == "journal":
        result = journal_read()
    elif args.command == "status":
        result = status(config, state)
    elif args.command == "evaluate":
        result = evaluate(config, state)
    elif args.command == "sleep":
        result = sleep_sequence(config, state, args.trigger, args.grace)
    else:
        result = resume(config, state, args.wait, "mko")
    if args.command in ("evaluate", "sleep", "resume"):
        write_json(state_path("state.json"), state)
    print(json.dumps(result, indent=2, sort_keys=True))
    return 1 if args.command == "sleep" and result.get("outcome") != "slept" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
