#!/usr/bin/env python3
"""What MicroK8s looks like on this node, as one JSON object on stdout (the microk8s role's probe).

Read-only: it runs `snap list`, `snap services`, `microk8s status --format yaml` and, on a control
plane node that answers, `microk8s kubectl get nodes -o json`. The status text is returned as it is
and parsed on the controller (YAML, which the standard library cannot read); everything else is
parsed here. Python 3 standard library only. Always exits 0: a missing snap is an answer.
"""
import argparse
import json
import os
import re
import subprocess

# `microk8s status` on a worker says this instead of a status (kubectl is off there too).
WORKER_TEXT = "acting as a node in a cluster"
# The YAML status of a control plane node that answers (Python prints the boolean as True).
RUNNING = re.compile(r"^\s*running:\s*(True|true)\s*$", re.MULTILINE)


def run(argv, timeout):
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        return done.returncode, done.stdout, done.stderr
    except FileNotFoundError:
        return 127, "", "%s: not found" % argv[0]
    except subprocess.TimeoutExpired:
        return 124, "", "%s: no answer within %d s" % (" ".join(argv), timeout)


def snap_info(snap):
    """Version, revision, channel and notes from `snap list microk8s`, or None when not installed."""
    rc, out, _ = run([snap, "list", "microk8s"], 30)
    lines = out.splitlines()
    if rc != 0 or len(lines) < 2:
        return None
    fields = lines[1].split()
    if len(fields) < 4 or fields[0] != "microk8s":
        return None
    notes = fields[5].split(",") if len(fields) > 5 and fields[5] != "-" else []
    return {"version": fields[1], "revision": fields[2], "channel": fields[3], "notes": notes}


def kubelite_active(snap):
    """Whether snapd reports the kubelite service active (the only running signal on a worker)."""
    _, out, _ = run([snap, "services", "microk8s.daemon-kubelite"], 30)
    for line in out.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 3 and fields[0] == "microk8s.daemon-kubelite":
            return fields[2] == "active"
    return False


def kubernetes_nodes(microk8s, timeout):
    """Name, Ready and cordon state of every Kubernetes node this control plane node sees."""
    rc, out, _ = run([microk8s, "kubectl", "get", "nodes", "-o", "json"], timeout)
    if rc != 0:
        return None
    try:
        items = json.loads(out).get("items", [])
    except ValueError:
        return None
    nodes = []
    for item in items:
        conditions = item.get("status", {}).get("conditions", [])
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        addresses = item.get("status", {}).get("addresses", [])
        nodes.append({
            "name": item.get("metadata", {}).get("name", ""),
            "ready": ready,
            "unschedulable": bool(item.get("spec", {}).get("unschedulable", False)),
            "address": next((a["address"] for a in addresses if a.get("type") == "InternalIP"), None),
            "version": item.get("status", {}).get("nodeInfo", {}).get("kubeletVersion"),
        })
    return nodes


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--microk8s", default="/snap/bin/microk8s")
    parser.add_argument("--snap", default="snap")
    parser.add_argument("--wait-ready", type=int, default=0, metavar="SECONDS",
                        help="let `microk8s status` wait this long for the node to be ready (0: do not wait)")
    parser.add_argument("--timeout", type=int, default=120, help="limit for each command, in seconds")
    args = parser.parse_args()

    snap = snap_info(args.snap)
    found = {"installed": snap is not None, "snap": snap, "kubelite_active": False, "worker": False,
             "status_text": "", "nodes": None}
    if snap is not None and os.access(args.microk8s, os.X_OK):
        found["kubelite_active"] = kubelite_active(args.snap)
        command = [args.microk8s, "status", "--format", "yaml"]
        if args.wait_ready > 0:
            command += ["--wait-ready", "--timeout", str(args.wait_ready)]
        _, out, _ = run(command, args.timeout + args.wait_ready)
        found["status_text"] = out
        found["worker"] = WORKER_TEXT in out
        if not found["worker"] and RUNNING.search(out):
            found["nodes"] = kubernetes_nodes(args.microk8s, args.timeout)
    print(json.dumps(found))


if __name__ == "__main__":
    main()
