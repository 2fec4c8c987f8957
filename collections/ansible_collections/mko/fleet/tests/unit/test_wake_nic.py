# Copyright: mko contributors
# SPDX-License-Identifier: Apache-2.0
"""Tests of the one choice of the NIC that wakes a node (plugins/module_utils/wake_nic.py), used by
the hardware report (wake_nic) and the wol role (mko.fleet.wake_nic). Standard library only:

    python3 -m unittest discover -s collections/ansible_collections/mko/fleet/tests/unit -v
"""

import os
import sys
import unittest

MODULE_UTILS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'plugins', 'module_utils')
sys.path.insert(0, MODULE_UTILS)
import hardware_collect  # noqa: E402 - the files themselves, not through an installed collection
from wake_nic import canonical_ip, directed_broadcast, wake_nic  # noqa: E402


def nic(name, mac, state, *addresses, prefix=24):
    return {'name': name, 'mac': mac, 'state': state, 'speed_mbps': None,
            'addresses': [{'address': a, 'prefix': prefix, 'family': 'inet6' if ':' in a else 'inet'} for a in addresses]}


def default_route():
    """This machine's default IPv4 route's interface, from /proc/net/route."""
    with open('/proc/net/route') as f:
        for line in f.read().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 2 and fields[1] == '00000000':
                return fields[0]
    return None


class WakeNicTest(unittest.TestCase):
    def test_the_interface_carrying_the_address_wins_over_one_that_is_up_first(self):
        interfaces = [nic('dummy0', '02:00:00:00:00:99', 'up', '192.168.9.1'), nic('eth0', '02:00:00:00:00:01', 'up', '10.0.0.5')]
        self.assertEqual(wake_nic(interfaces, '10.0.0.5'),
                         {'interface': 'eth0', 'mac': '02:00:00:00:00:01', 'address': '10.0.0.5', 'broadcast': '10.0.0.255'})

    def test_ipv6_however_written_and_the_mac_normalised(self):
        interfaces = [nic('eth0', '02:00:00:00:00:01', 'up', '10.0.0.5'), nic('eth1', 'AA-BB-CC-00-11-22', 'up', 'fd00::10')]
        self.assertEqual(wake_nic(interfaces, 'FD00:0:0:0:0:0:0:10')['mac'], 'aa:bb:cc:00:11:22')
        self.assertEqual(wake_nic(interfaces, 'FD00:0:0:0:0:0:0:10')['broadcast'], None)
        self.assertEqual(canonical_ip('fd00:0::10%eth1'), 'fd00::10')

    def test_falls_back_to_the_default_route_then_the_first_up_never_loopback_or_zero_mac(self):
        interfaces = [
            nic('lo', '00:00:00:00:00:00', 'unknown', '10.0.0.9'),
            nic('wg0', None, 'up', '10.0.0.9'),
            nic('eth0', '02:00:00:00:00:01', 'down'),
            nic('eth1', '02:00:00:00:00:02', 'up', '192.168.1.5'),
            nic('eth2', '02:00:00:00:00:03', 'up', '192.168.2.5'),
        ]
        self.assertEqual(wake_nic(interfaces, '10.0.0.9')['interface'], 'eth1')
        self.assertEqual(wake_nic(interfaces, '10.0.0.9', default_interface='eth2')['interface'], 'eth2')
        self.assertEqual(wake_nic([nic('eth0', '02:00:00:00:00:01', 'down')], '10.0.0.9')['mac'], '02:00:00:00:00:01')
        self.assertIsNone(wake_nic([nic('wg0', None, 'up', '10.0.0.9')], '10.0.0.9'))
        self.assertIsNone(wake_nic([], '10.0.0.9'))

    def test_a_named_interface_is_taken_as_it_is(self):
        interfaces = [nic('eth0', '02:00:00:00:00:01', 'up', '10.0.0.5'), nic('eth1', '02:00:00:00:00:02', 'up', '10.1.0.5', prefix=16)]
        self.assertEqual(wake_nic(interfaces, '10.0.0.5', interface='eth1'),
                         {'interface': 'eth1', 'mac': '02:00:00:00:00:02', 'address': '10.1.0.5', 'broadcast': '10.1.255.255'})
        self.assertIsNone(wake_nic(interfaces, '10.0.0.5', interface='eth9'))

    def test_directed_broadcast(self):
        self.assertEqual(directed_broadcast('192.168.1.10', 24), '192.168.1.255')
        self.assertEqual(directed_broadcast('10.213.7.130', 25), '10.213.7.255')
        self.assertEqual(directed_broadcast('172.16.5.9', 12), '172.31.255.255')
        self.assertIsNone(directed_broadcast('10.0.0.1', 32))
        self.assertIsNone(directed_broadcast('fd00::1', 64))
        self.assertIsNone(directed_broadcast('10.0.0.1', None))

    def test_on_this_machine_the_default_route_interface_carries_its_address(self):
        name = default_route()
        if not name:
            self.skipTest('this machine has no default IPv4 route')
        interfaces = hardware_collect.collect_network()
        mine = next(i for i in interfaces if i['name'] == name)
        address = next(a['address'] for a in mine['addresses'] if a['family'] == 'inet')
        # An interface that is up comes first, so only the address match can pick the right one.
        found = wake_nic([nic('dummy0', '02:00:00:00:00:99', 'up')] + interfaces, address)
        self.assertEqual((found['interface'], found['mac']), (name, mine['mac'].lower()))
        self.assertEqual(found['address'], address)


if __name__ == '__main__':
    unittest.main()
