#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mko contributors
# SPDX-License-Identifier: Apache-2.0
"""Find the NIC that wakes this node: the one that carries its address."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: wake_nic
short_description: Find the network interface that carries the node's address, with its MAC and directed broadcast
version_added: 0.3.0
author: mko contributors
description:
  - Reads the node's interfaces (C(ip -j addr), else sysfs) as the hardware report does, and picks
    the one a magic packet must reach - the interface named by O(interface); else the one that
    carries O(address); else the default route's; else the first that is up; else the first.
    Loopback and interfaces without a real MAC never qualify.
  - The same choice as the C(wake_nic) key of every hardware report (mko.fleet.hardware), made by
    the same code. Read-only.
  - Python 3.6 or later on the node, standard library only.
options:
  address:
    description: The address the node is reached at (mko's ansible_host).
    type: str
    required: true
  interface:
    description: Take this interface instead of looking for it.
    type: str
attributes:
  check_mode:
    support: full
"""

EXAMPLES = r"""
- name: Find the interface that carries the node's address
  mko.fleet.wake_nic:
    address: "{{ ansible_host | default(inventory_hostname) }}"
  register: __wol_nic
"""

RETURN = r"""
interface:
  description: The interface's name; null when none qualifies.
  returned: always
  type: str
mac:
  description: Its MAC, lower case, colon separated.
  returned: always
  type: str
address:
  description: Its IPv4 address (the node's own where the interface has it).
  returned: always
  type: str
broadcast:
  description: The directed broadcast of that address (what a magic packet is sent to).
  returned: always
  type: str
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mko.fleet.plugins.module_utils.hardware_collect import collect_network, run, which
from ansible_collections.mko.fleet.plugins.module_utils.wake_nic import wake_nic


def default_route_interface():
    routes = run([which('ip', ('/sbin/ip', '/usr/sbin/ip')), '-j', 'route', 'show', 'default'], must_succeed=True)
    try:
        return next((r.get('dev') for r in json.loads(routes or '[]') if r.get('dev')), None)
    except (ValueError, AttributeError):
        return None


def main():
    module = AnsibleModule(
        argument_spec={'address': {'type': 'str', 'required': True}, 'interface': {'type': 'str'}},
        supports_check_mode=True,
    )
    found = wake_nic(collect_network(), module.params['address'], interface=module.params['interface'] or None,
                     default_interface=default_route_interface())
    module.exit_json(changed=False, **(found or {'interface': None, 'mac': None, 'address': None, 'broadcast': None}))


if __name__ == '__main__':
    main()
