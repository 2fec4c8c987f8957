# -*- coding: utf-8 -*-
# Copyright: mko contributors
# SPDX-License-Identifier: Apache-2.0
"""Which NIC wakes a node: the one that carries the node's address. The one place mko decides it:
the hardware action plugin adds it to every hardware report (wake_nic), the mko.fleet.wake_nic
module answers it for the wol role; mko's TypeScript only reads the answer.

Interfaces come in the hardware report's network shape: {name, mac, state, addresses: [{address,
prefix, family}]}. Standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

MAC = re.compile('^[0-9a-f]{2}(:[0-9a-f]{2}){5}$')


def usable_mac(mac):
    """The MAC lower case and colon separated, or None for none, a malformed one or all zeros."""
    if not isinstance(mac, str):
        return None
    normal = mac.strip().lower().replace('-', ':')
    return normal if MAC.match(normal) and normal != '00:00:00:00:00:00' else None


def canonical_ip(text):
    """fd00:0::2 and FD00::2%eth0 compare equal; a name stays as it is (lower case)."""
    bare = str(text or '').split('%')[0].strip().lower()
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        return bare


def directed_broadcast(address, prefix):
    """192.168.1.10/24 -> 192.168.1.255; None for IPv6, a /31 or /32, or anything malformed."""
    try:
        network = ipaddress.ip_network('%s/%s' % (address, prefix), strict=False)
    except (ValueError, TypeError):
        return None
    if network.version != 4 or not 1 <= network.prefixlen <= 30:
        return None
    return str(network.broadcast_address)


def wake_nic(interfaces, address, interface=None, default_interface=None):
    """The interface that wakes the node: `interface` when it is named, else the one carrying
    `address`, else the default route's, else the first that is up, else the first (loopback and
    interfaces without a real MAC never qualify). Returns {interface, mac, address, broadcast}:
    address is its IPv4 address (the node's own where it has it), broadcast that address's
    directed broadcast; None when no interface qualifies."""
    candidates = [i for i in interfaces or [] if i.get('name') != 'lo' and usable_mac(i.get('mac'))]
    wanted = canonical_ip(address)

    def named(name):
        return next((i for i in candidates if name and i.get('name') == name), None)

    chosen = (named(interface) if interface else None) or (None if interface else (
        next((i for i in candidates if any(canonical_ip(a.get('address')) == wanted for a in i.get('addresses') or [])), None)
        or named(default_interface)
        or next((i for i in candidates if i.get('state') == 'up'), None)
        or (candidates[0] if candidates else None)))
    if chosen is None:
        return None
    inet = [a for a in chosen.get('addresses') or [] if a.get('family') == 'inet']
    own = next((a for a in inet if canonical_ip(a.get('address')) == wanted), None)
    with_broadcast = [a for a in inet if directed_broadcast(a.get('address'), a.get('prefix'))]
    pick = own if own in with_broadcast else (with_broadcast[0] if with_broadcast else own or (inet[0] if inet else None))
    return {
        'interface': chosen['name'],
        'mac': usable_mac(chosen.get('mac')),
        'address': pick.get('address') if pick else None,
        'broadcast': directed_broadcast(pick.get('address'), pick.get('prefix')) if pick else None,
    }
