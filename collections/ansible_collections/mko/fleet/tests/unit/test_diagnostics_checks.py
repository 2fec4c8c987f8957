# Copyright: mko contributors
# SPDX-License-Identifier: Apache-2.0
"""Tests of mko doctor's check logic (plugins/module_utils/diagnostics_checks.py), standard library
only, with forced readings the lab cannot produce (skewed clocks, a DROP policy, a Raspberry Pi
without the memory cgroup, an expired certificate):

    python3 -m unittest discover -s collections/ansible_collections/mko/fleet/tests/unit -v
"""

import calendar
import os
import sys
import unittest

MODULE_UTILS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'plugins', 'module_utils')
sys.path.insert(0, MODULE_UTILS)
import diagnostics_checks as dc  # noqa: E402 - the file itself, not through an installed collection

# Made with openssl: notAfter Dec 4 12:16:36 2036 GMT (UTCTime) and Jan 18 12:16:39 2057 GMT
# (GeneralizedTime, the form for dates from 2050 on).
CERT_2036 = """-----BEGIN CERTIFICATE-----
MIIBcjCCARmgAwIBAgIUCtVz/NoPKvI0voMRNzbkQl4f7aMwCgYIKoZIzj0EAwIw
DzENMAsGA1UEAwwEdGVzdDAeFw0yNjEyMDcxMjE2MzZaFw0zNjEyMDQxMjE2MzZa
MA8xDTALBgNVBAMMBHRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATOsQ6X
QJ0GfAIAqLDqKdDigWR8ddvcVWQKpxPIaPR7Yfe5N+hVfqa7ZUZAH9xFigDpto45
kp87MNkiz2dLgu5Bo1MwUTAdBgNVHQ4EFgQUdeDP0enJ28pnajYPwdQSM0YGbbIw
HwYDVR0jBBgwFoAUdeDP0enJ28pnajYPwdQSM0YGbbIwDwYDVR0TAQH/BAUwAwEB
/zAKBggqhkjOPQQDAgNHADBEAiBVvHwa2y707JmziPHZKPCa4j6cfSGRAH6aEzXA
HvdvNQIgBDh+vA93wqJYHlm4q2xEle4GFZ8wU9gHaZ1WXWHOxjw=
-----END CERTIFICATE-----
"""
CERT_2057 = """-----BEGIN CERTIFICATE-----
MIIBcjCCARmgAwIBAgIUXNf9ffiqPXAusYvs4NHcYoelvkwwCgYIKoZIzj0EAwIw
DjEMMAoGA1UEAwwDZmFyMCAXDTI2MTIwNzEyMTYzOVoYDzIwNTcwMTE4MTIxNjM5
WjAOMQwwCgYDVQQDDANmYXIwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATaKQPr
AXCcqNIEGZibPihNgepw/Mdgnn23IRSz0vAGD8PZjrj/9VQRPar0+LFXYQc/TDsY
0kmqvBhdOIgKOWrco1MwUTAdBgNVHQ4EFgQUW4WZDVkZxaFOdaMKedb1844Q6qkw
HwYDVR0jBBgwFoAUW4WZDVkZxaFOdaMKedb1844Q6qkwDwYDVR0TAQH/BAUwAwEB
/zAKBggqhkjOPQQDAgNHADBEAiAF2cUUvLsl3/ZINmyhHUBgRemajNdOtQa84nXV
tVg7CgIgXpfi1g8U9OBGiJoYm9VfklA+gpJlll2FG6d9bB32MVI=
-----END CERTIFICATE-----
"""

STATUS_YAML = """microk8s:
  running: True
high-availability:
  enabled: True
  nodes:
    - address: 10.0.0.11:19001
      role: voter
    - address: 10.0.0.12:19001
      role: voter
    - address: 10.0.0.13:19001
      role: standby
addons:
  - name: dns
    status: enabled
"""

DAY = 86400.0


class ClockTest(unittest.TestCase):
    def test_offset_is_taken_at_the_midpoint_of_the_round_trip(self):
        offset, uncertainty = dc.clock_offsets(node_time=1010.0, sent=1000.0, received=1002.0)
        self.assertEqual(offset, 9.0)
        self.assertEqual(uncertainty, 1.0)

    def test_nodes_within_the_threshold_pass(self):
        r = dc.clock_skew_check('home', {'a': (0.1, 0.05), 'b': (0.4, 0.05)}, 1, 30)
        self.assertEqual(r['status'], 'pass')
        self.assertIsNone(r['fix'])

    def test_a_node_45_seconds_ahead_fails_and_names_both_ends(self):
        r = dc.clock_skew_check('home', {'a': (0.0, 0.1), 'b': (45.0, 0.1), 'c': (0.2, 0.1)}, 1, 30)
        self.assertEqual(r['status'], 'fail')
        self.assertEqual(r['scope'], 'cluster')
        self.assertIn('b and a', r['summary'])
        self.assertIn('timedatectl set-ntp true', r['fix']['command'])

    def test_a_few_seconds_warn(self):
        self.assertEqual(dc.clock_skew_check('home', {'a': (0.0, 0.1), 'b': (3.0, 0.1)}, 1, 30)['status'], 'warn')

    def test_a_slow_round_trip_is_not_taken_for_skew(self):
        # 1.5 s apart, but each reading is only known to within 1 s: no evidence of skew over 1 s.
        self.assertEqual(dc.clock_skew_check('home', {'a': (0.0, 1.0), 'b': (1.5, 1.0)}, 1, 30)['status'], 'pass')

    def test_one_node_has_no_skew(self):
        self.assertEqual(dc.clock_skew_check('home', {'a': (99.0, 0.1)}, 1, 30)['status'], 'pass')


class CertTest(unittest.TestCase):
    def test_not_after_utctime_and_generalizedtime(self):
        self.assertEqual(dc.der_not_after(dc.pem_blocks(CERT_2036)[0]), '20361204121636Z')
        self.assertEqual(dc.der_not_after(dc.pem_blocks(CERT_2057)[0]), '20570118121639Z')

    def test_thresholds(self):
        now = calendar.timegm((2036, 11, 1, 0, 0, 0))
        end = calendar.timegm((2036, 12, 4, 12, 16, 36))
        certs = [{'name': 'server.crt', 'not_after': end}, {'name': 'ca.crt', 'not_after': end + 3000 * DAY}]
        self.assertEqual(dc.certs_check('n1', certs, now, 30, 7)['status'], 'pass')
        warned = dc.certs_check('n1', certs, now + 10 * DAY, 30, 7)
        self.assertEqual(warned['status'], 'warn')
        self.assertEqual(warned['fix']['command'], 'sudo /snap/bin/microk8s refresh-certs --cert server.crt')
        self.assertEqual(dc.certs_check('n1', certs, now + 30 * DAY, 30, 7)['status'], 'fail')
        expired = dc.certs_check('n1', certs, end + DAY, 30, 7)
        self.assertEqual(expired['status'], 'fail')
        self.assertIn('server.crt expired', expired['summary'])
        self.assertFalse(expired['cheap'])

    def test_an_unreadable_certificate_is_unknown(self):
        r = dc.certs_check('n1', [{'name': 'x.crt', 'not_after': None, 'error': 'no PEM certificate'}], 0, 30, 7)
        self.assertEqual(r['status'], 'unknown')


class QuorumTest(unittest.TestCase):
    def test_parse_status_yaml_nodes(self):
        self.assertEqual(dc.parse_status_nodes(STATUS_YAML), [
            {'address': '10.0.0.11:19001', 'role': 'voter'},
            {'address': '10.0.0.12:19001', 'role': 'voter'},
            {'address': '10.0.0.13:19001', 'role': 'standby'},
        ])
        self.assertEqual(dc.parse_status_nodes('microk8s:\n  running: False\nhigh-availability:\n  enabled: True\n  nodes: []\n'), [])

    def test_three_voters_up_pass(self):
        v = ['a:19001', 'b:19001', 'c:19001']
        self.assertEqual(dc.quorum_check('home', v, v, True)['status'], 'pass')

    def test_one_of_three_down_is_quorum_at_risk(self):
        r = dc.quorum_check('home', ['a:19001', 'b:19001', 'c:19001'], ['a:19001', 'b:19001'], True)
        self.assertEqual(r['status'], 'fail')
        self.assertIn('quorum at risk', r['summary'])
        self.assertIn('c:19001 DOWN', r['evidence'])

    def test_two_of_three_down_is_quorum_lost(self):
        r = dc.quorum_check('home', ['a:19001', 'b:19001', 'c:19001'], ['a:19001'], True)
        self.assertIn('quorum lost', r['summary'])

    def test_fewer_than_three_voters_with_ha_wanted_warns(self):
        self.assertEqual(dc.quorum_check('home', ['a:19001'], ['a:19001'], True)['status'], 'warn')
        self.assertEqual(dc.quorum_check('home', ['a:19001'], ['a:19001'], False)['status'], 'pass')


class NodeChecksTest(unittest.TestCase):
    def test_forward_policy(self):
        self.assertEqual(dc.forward_policy('-P FORWARD DROP\n-A FORWARD -j DOCKER-USER\n'), 'DROP')
        self.assertEqual(dc.iptables_check('n1', 'DROP', '')['status'], 'fail')
        self.assertIn('iptables -P FORWARD ACCEPT', dc.iptables_check('n1', 'DROP', '')['fix']['command'])
        self.assertEqual(dc.iptables_check('n1', 'ACCEPT', '')['status'], 'pass')
        self.assertEqual(dc.iptables_check('n1', None, 'iptables is not installed')['status'], 'unknown')

    def test_hostnames_microk8s_rejects(self):
        self.assertEqual(dc.hostname_check('n1', 'pi-1')['status'], 'pass')
        bad = dc.hostname_check('n1', 'Pi_1')
        self.assertEqual(bad['status'], 'fail')
        self.assertEqual(bad['fix']['command'], 'sudo hostnamectl set-hostname pi-1')

    def test_hosts_resolution(self):
        ok = [{'name': 'a', 'address': '10.0.0.1', 'got': ['10.0.0.1']}]
        self.assertEqual(dc.hosts_check('a', ok)['status'], 'pass')
        wrong = ok + [{'name': 'b', 'address': '10.0.0.2', 'got': []}]
        r = dc.hosts_check('a', wrong)
        self.assertEqual(r['status'], 'fail')
        self.assertIn('b (want 10.0.0.2)', r['summary'])
        self.assertEqual(r['fix']['command'], 'mko cluster configure-hosts {cluster}')

    def test_hosts_resolution_of_ipv6_members(self):
        # An IPv6 member, stored in one spelling and resolved in another, beside the name's IPv4 line.
        v6 = [{'name': 'c', 'address': 'fd00:0:0::13', 'got': ['10.0.0.3', 'fd00::13']}]
        self.assertEqual(dc.hosts_check('a', v6)['status'], 'pass')
        self.assertEqual(dc.hosts_check('a', [dict(v6[0], got=['10.0.0.3'])])['status'], 'fail')

    def test_memory_cgroup_on_a_pi(self):
        v1_off = '#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t3\t1\t1\nmemory\t0\t1\t0\n'
        self.assertFalse(dc.memory_cgroup_enabled(v1_off, None))
        self.assertTrue(dc.memory_cgroup_enabled(v1_off.replace('memory\t0\t1\t0', 'memory\t4\t85\t1'), None))
        self.assertTrue(dc.memory_cgroup_enabled('', 'cpuset cpu io memory pids'))
        self.assertFalse(dc.memory_cgroup_enabled('', 'cpuset cpu io pids'))
        r = dc.cgroup_check('pi1', False, 'Raspberry Pi 4 Model B Rev 1.5', '/boot/firmware/cmdline.txt')
        self.assertEqual(r['status'], 'fail')
        self.assertIn('cgroup_enable=memory cgroup_memory=1/\' /boot/firmware/cmdline.txt', r['fix']['command'])

    def test_disk_thresholds(self):
        mounts = [{'path': '/', 'free_pct': 40.0, 'inodes_free_pct': 90.0}, {'path': '/var', 'free_pct': 4.0, 'inodes_free_pct': 12.0}]
        space, inodes = dc.disk_checks('n1', mounts, 15, 5, 15, 5)
        self.assertEqual((space['status'], inodes['status']), ('fail', 'warn'))
        self.assertEqual(space['summary'], '/var has 4.0% space free (below 5%)')
        self.assertEqual(dc.disk_checks('n1', mounts, 100.0, 100.0, 15, 5)[0]['summary'], '/var has 4.0% space free (below 100%)')

    def test_services(self):
        r = dc.services_check('n1', True, 'control-plane', {'snap.microk8s.daemon-kubelite': 'inactive', 'snap.microk8s.daemon-k8s-dqlite': 'active'})
        self.assertEqual(r['status'], 'fail')
        self.assertEqual(r['fix']['command'], 'sudo /snap/bin/microk8s start')
        self.assertEqual(dc.services_check('n1', True, 'worker', {'x': 'failed'})['fix']['command'], 'sudo snap start microk8s')

    def test_snap_hold(self):
        held = 'Name      Version  Rev   Tracking     Publisher   Notes\nmicrok8s  v1.31.9  7964  1.31/stable  canonical**  classic,held\n'
        self.assertEqual(dc.snap_hold_check('n1', True, held)['status'], 'pass')
        self.assertEqual(dc.snap_hold_check('n1', True, held.replace(',held', ''))['status'], 'warn')

    def test_nut(self):
        self.assertEqual(dc.nut_services_check('n1', 'none', {})['status'], 'pass')
        self.assertEqual(dc.nut_services_check('n1', 'netclient', {'nut-monitor': 'failed'})['status'], 'fail')
        r = dc.upsmon_login_check('home', {'ups1': ['10.0.0.1', '127.0.0.1'], 'n2': ['10.0.0.2']}, ['127.0.0.1'], 'ups')
        self.assertEqual(r['status'], 'fail')
        self.assertIn('from n2', r['summary'])
        self.assertEqual(dc.upsmon_login_check('home', {'n2': ['10.0.0.2']}, ['10.0.0.2'], 'ups')['status'], 'pass')
        self.assertEqual(dc.parse_upsc_clients('10.0.0.2\n127.0.0.1\n'), ['10.0.0.2', '127.0.0.1'])

    def test_nut_driver(self):
        ok = dc.nut_driver_check('n1', 'rack', 'OL', '', 'nut-driver@rack')
        self.assertEqual((ok['status'], ok['summary'], ok['fix']), ('pass', 'the driver reads UPS rack (OL)', None))
        self.assertEqual(ok['evidence'], 'upsc rack@127.0.0.1 ups.status: OL')
        dead = dc.nut_driver_check('n1', 'rack', None, 'Error: Driver not connected', 'nut-driver@rack')
        self.assertEqual((dead['status'], dead['summary']), ('fail', 'the driver of rack is not running'))
        self.assertEqual(dead['fix'], {'on': 'node', 'command': 'sudo systemctl restart nut-driver@rack'})
        self.assertEqual(dead['evidence'], 'upsc rack@127.0.0.1 ups.status: Error: Driver not connected')
        stale = dc.nut_driver_check('n1', 'rack', None, 'Error: Data stale', 'nut-driver')
        self.assertEqual(stale['status'], 'fail')
        self.assertIn('lost the UPS (data stale): check its cable', stale['summary'])
        self.assertEqual(stale['fix']['command'], 'sudo systemctl restart nut-driver')
        # upsd down: not the driver's fault as far as anyone can tell; nut.services says why.
        refused = dc.nut_driver_check('n1', 'rack', None, 'Error: Connection failure: Connection refused', 'nut-driver@rack')
        self.assertEqual((refused['status'], refused['fix'], refused['severity']), ('unknown', None, 'critical'))

    def test_wol(self):
        text = '\tSupports Wake-on: pumbg\n\tWake-on: d\n'
        self.assertEqual(dc.wol_check('n1', True, 'eth0', text)['status'], 'warn')
        self.assertEqual(dc.wol_check('n1', True, 'eth0', text.replace('Wake-on: d', 'Wake-on: g'))['status'], 'pass')
        self.assertEqual(dc.wol_check('n1', False, None, '')['status'], 'pass')

    def test_only_critical_checks_fail(self):
        # mko doctor exits 2 on a critical fail: a warning-severity check never reports fail.
        for r in (dc.snap_hold_check('n', True, ''), dc.wol_check('n', True, 'eth0', '')):
            self.assertEqual(r['severity'], 'warning')
            self.assertNotEqual(r['status'], 'fail')


if __name__ == '__main__':
    unittest.main()
