#!/usr/bin/env python3
"""Send Wake-on-LAN magic packets from the controller, with the node's SecureOn password if it has one.

A magic packet is 6 bytes 0xFF and the MAC 16 times (102 bytes), followed by the 4 or 6 byte
SecureOn password when the NIC wants one. community.general.wakeonlan cannot add a password, so
the startup sends its packets with this. The password comes on stdin (colon-separated hex, e.g.
01:02:03:04:05:06; empty for none), never in the arguments, and is never printed. Sends --packets
packets --pause seconds apart to --broadcast:--port (a directed broadcast: 255.255.255.255 leaves
through one interface only). Python 3 standard library only. Prints one line saying what it sent;
exits 0 when every packet went out, 1 when sending failed, 2 on bad input (one line on stderr).
"""
import argparse
import re
import socket
import sys
import time

HEX_BYTE = "[0-9A-Fa-f]{2}"


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(2)


def packet_for(mac, password):
    if not re.fullmatch(f"{HEX_BYTE}([:-]{HEX_BYTE}){{5}}", mac):
        fail(f"not a MAC address: {mac!r} (want aa:bb:cc:dd:ee:ff)")
    secureon = b""
    if password:
        if not re.fullmatch(f"{HEX_BYTE}(:{HEX_BYTE}){{3}}|{HEX_BYTE}(:{HEX_BYTE}){{5}}", password):
            # Never echo the value: it is a secret.
            fail("the SecureOn password on stdin must be 4 or 6 hex bytes separated by colons")
        secureon = bytes.fromhex(password.replace(":", ""))
    return b"\xff" * 6 + bytes.fromhex(re.sub("[:-]", "", mac)) * 16 + secureon


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mac", required=True)
    parser.add_argument("--broadcast", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--packets", type=int, default=1)
    parser.add_argument("--pause", type=float, default=1.0)
    args = parser.parse_args()
    if not 1 <= args.port <= 65535 or args.packets < 1 or args.pause < 0:
        fail("--port must be 1-65535, --packets at least 1 and --pause not negative")
    password = sys.stdin.read().strip() if not sys.stdin.isatty() else ""
    packet = packet_for(args.mac, password)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            for number in range(1, args.packets + 1):
                sock.sendto(packet, (args.broadcast, args.port))
                if number < args.packets:
                    time.sleep(args.pause)
    except OSError as error:
        print(f"could not send to {args.broadcast}:{args.port}: {error}", file=sys.stderr)
        sys.exit(1)
    print(
        f"sent {args.packets} magic packet(s) of {len(packet)} bytes for {args.mac.lower()} to "
        f"{args.broadcast}:{args.port}{' with SecureOn' if password else ''}"
    )


if __name__ == "__main__":
    main()
