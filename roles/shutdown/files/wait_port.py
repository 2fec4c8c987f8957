#!/usr/bin/env python3
"""Wait on the controller until a node's TCP port (its SSH port) opens or closes, and say when.

The shutdown and startup of a cluster record, per node, the moment the controller saw it go or
come back; Ansible's wait_for only reports whole seconds, so this reports milliseconds. Prints one
JSON object: {"state": "open"|"closed", "reached": bool, "at": ISO 8601 UTC, "epoch": float,
"seconds": float (how long it waited)}.
"closed" means a connection attempt failed (refused, timed out or unreachable: a host that is off
answers in one of those ways); "open" with --banner means the port also sent a line starting with
it (sshd's "SSH-2.0-..."). Python 3 standard library only. Exits 0 whether or not the state was
reached within the timeout (the caller decides); 2 on bad arguments.
"""
import argparse
import datetime
import json
import socket
import time


def attempt(host, port, banner, connect_timeout):
    """True when the port accepts a connection (and sends the banner, if one is asked for)."""
    try:
        with socket.create_connection((host, port), timeout=connect_timeout) as conn:
            if not banner:
                return True
            conn.settimeout(connect_timeout)
            data = b""
            while b"\n" not in data and len(data) < 256:
                chunk = conn.recv(256)
                if not chunk:
                    break
                data += chunk
            return data.startswith(banner.encode())
    except OSError:
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, default=22)
    parser.add_argument("--state", choices=["open", "closed"], required=True)
    parser.add_argument("--banner", default="", help="with --state open: the start of what the port must send")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait at most")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between attempts")
    parser.add_argument("--connect-timeout", type=float, default=1.0)
    args = parser.parse_args()

    start = time.monotonic()
    reached = False
    while True:
        is_open = attempt(args.host, args.port, args.banner, args.connect_timeout)
        if is_open == (args.state == "open"):
            reached = True
            break
        if time.monotonic() - start >= args.timeout:
            break
        time.sleep(args.interval)
    at = datetime.datetime.now(datetime.timezone.utc)
    print(json.dumps({
        "state": args.state,
        "reached": reached,
        "at": at.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (at.microsecond // 1000),
        "epoch": round(at.timestamp(), 3),
        "seconds": round(time.monotonic() - start, 3),
    }))


if __name__ == "__main__":
    main()
