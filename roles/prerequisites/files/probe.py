#!/usr/bin/env python3
"""Read-only probe for the prerequisites role: prints one JSON object on stdout.

It gathers what Ansible facts do not cover (who holds a port, whether a time daemon runs, the
Raspberry Pi boot command line); the role turns these raw values into pass/fail checks. Runs on
Python 3.6+ (Ubuntu 20.04 ships 3.8) with the standard library only, and changes nothing.
"""
import argparse
import json
import os
import shutil
import subprocess

MODEL_FILES = ("/proc/device-tree/model", "/sys/firmware/devicetree/base/model")
TIME_DAEMONS = ("chronyd", "systemd-timesyncd", "ntpd", "openntpd", "ntpsec")
# Devices MicroK8s's CNI creates; the kernel (not a process) owns their UDP port.
MICROK8S_TUNNELS = ("vxlan.calico", "flannel.1")
TCP_LISTEN = "0A"


def read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return None


def run(argv):
    """(exit code, stdout) of a command, or (None, '') when it is not installed."""
    if shutil.which(argv[0]) is None:
        return None, ""
    try:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None, ""
    return done.returncode, done.stdout.decode("utf-8", "replace")


def raspberry_pi_model():
    for path in MODEL_FILES:
        text = read(path)
        if text and "Raspberry Pi" in text:
            return text.strip("\x00\n ")
    return None


def disk(path):
    stat = os.statvfs(path)
    return {
        "path": path,
        "free_mb": stat.f_bavail * stat.f_frsize // (1024 * 1024),
        "total_mb": stat.f_blocks * stat.f_frsize // (1024 * 1024),
    }


def packages(names):
    installed = set()
    if names:
        _, out = run(["dpkg-query", "-W", "-f", "${Package}\t${db:Status-Abbrev}\n"] + list(names))
        for line in out.splitlines():
            name, _, status = line.partition("\t")
            # "ii " = desired install, currently installed; anything else is absent or broken.
            if status.startswith("ii"):
                installed.add(name.split(":")[0])
    return {"installed": sorted(installed), "missing": [n for n in names if n not in installed]}


def processes():
    """pid -> command name for every process visible here."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            comm = read("/proc/%s/comm" % entry)
            if comm is not None:
                found[int(entry)] = comm.strip()
    return found


def snapd(procs):
    code, out = run(["systemctl", "is-active", "snapd.socket", "snapd.service"])
    units = []
    if code is not None:
        states = out.split()
        units = [u for u, s in zip(("snapd.socket", "snapd.service"), states) if s == "active"]
    daemon = any(name == "snapd" for name in procs.values())
    return {"snap_path": shutil.which("snap"), "active_units": units, "daemon_running": daemon}


def time_sync(procs):
    code, out = run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
    synchronized = None
    if code == 0 and out.strip() in ("yes", "no"):
        synchronized = out.strip() == "yes"
    daemons = sorted({name for name in procs.values() if name in TIME_DAEMONS})
    return {"synchronized": synchronized, "daemons": daemons}


def socket_table(proto):
    """(port, inode) of sockets bound for `proto`: TCP listeners, any bound UDP socket."""
    rows = []
    for suffix in ("", "6"):
        text = read("/proc/net/%s%s" % (proto, suffix)) or ""
        for line in text.splitlines()[1:]:
            fields = line.split()
            if len(fields) < 10:
                continue
            if proto == "tcp" and fields[3] != TCP_LISTEN:
                continue
            port = int(fields[1].rsplit(":", 1)[1], 16)
            rows.append((port, int(fields[9])))
    return rows


def socket_owners(inodes):
    """inode -> [pid] for the given socket inodes, read from /proc/<pid>/fd."""
    owners = {}
    wanted = {"socket:[%d]" % inode: inode for inode in inodes}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fd_dir = "/proc/%s/fd" % entry
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target in wanted:
                owners.setdefault(wanted[target], set()).add(int(entry))
    return owners


def is_microk8s(pid):
    cgroup = read("/proc/%d/cgroup" % pid) or ""
    try:
        exe = os.readlink("/proc/%d/exe" % pid)
    except OSError:
        exe = ""
    # MicroK8s daemons run in snap.microk8s.* systemd units, from /snap/microk8s/.
    return "snap.microk8s" in cgroup or exe.startswith("/snap/microk8s/")


def ports(specs, procs):
    tables = {"tcp": socket_table("tcp"), "udp": socket_table("udp")}
    wanted = []
    for spec in specs:
        port, _, proto = spec.partition("/")
        wanted.append((int(port), proto or "tcp"))
    inodes = {inode for proto in tables for port, inode in tables[proto] if inode and (port, proto) in wanted}
    owners = socket_owners(inodes) if inodes else {}
    tunnel = any(os.path.exists("/sys/class/net/" + dev) for dev in MICROK8S_TUNNELS)
    result = []
    for port, proto in wanted:
        holders, kernel, hidden, bound = set(), False, False, False
        for bound_port, inode in tables.get(proto, []):
            if bound_port != port:
                continue
            bound = True
            if inode == 0:
                kernel = True
            elif inode in owners:
                holders.update(owners[inode])
            else:
                # A process in another PID namespace (a container) holds it.
                hidden = True
        if not bound:
            state = "free"
        elif not hidden and all(is_microk8s(pid) for pid in holders) and (not kernel or tunnel):
            state = "microk8s"
        else:
            state = "busy"
        names = ["%s (pid %d)" % (procs.get(pid, "?"), pid) for pid in sorted(holders)]
        if kernel:
            names.append("the kernel (a tunnel device)")
        if hidden:
            names.append("a process not visible here (another PID namespace)")
        result.append({"port": port, "proto": proto, "state": state, "holders": names})
    return result


def cgroup(cmdline_paths, flags):
    path = next((p for p in cmdline_paths if os.path.isfile(p)), None)
    words = (read(path) or "").split() if path else []
    running = (read("/proc/cmdline") or "").split()
    return {
        "file": path,
        "missing_in_file": [f for f in flags if f not in words],
        "missing_at_boot": [f for f in flags if f not in running],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", action="append", default=[], help="PORT/PROTO to look up, e.g. 16443/tcp")
    parser.add_argument("--package", action="append", default=[], help="Debian package that must be installed")
    parser.add_argument("--cmdline", action="append", default=[], help="Boot command line file, first existing wins")
    parser.add_argument("--flag", action="append", default=[], help="Kernel flag the command line must carry")
    parser.add_argument("--disk-path", default="/", help="Filesystem whose free space counts")
    args = parser.parse_args()
    procs = processes()
    print(json.dumps({
        "raspberry_pi_model": raspberry_pi_model(),
        "disk": disk(args.disk_path),
        "packages": packages(args.package),
        "snapd": snapd(procs),
        "time_sync": time_sync(procs),
        "ports": ports(args.port, procs),
        "cgroup": cgroup(args.cmdline, args.flag),
    }))


if __name__ == "__main__":
    main()
