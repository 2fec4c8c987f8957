# Copyright: mko contributors
# SPDX-License-Identifier: Apache-2.0
"""Tests of the wake library (plugins/module_utils/wake_lib.py), standard library only:

    python3 -m unittest discover -s collections/ansible_collections/mko/fleet/tests/unit -v

Packets go over a real UDP socket on 127.0.0.1; the Proxmox API calls over real HTTP to a small
server here (TLS and the whole flow against the Proxmox double are tested in ts/proxmox).
"""

import os
import socket
import sys
import unittest

MODULE_UTILS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'plugins', 'module_utils')
sys.path.insert(0, MODULE_UTILS)
import wake_lib  # noqa: E402 - the file itself, not through an installed collection

MAC = '02:1a:2b:3c:4d:5e'


class PacketTest(unittest.TestCase):
    def test_plain_packet_is_102_bytes_sync_then_mac_16_times(self):
        packet = wake_lib.magic_packet(MAC)
        self.assertEqual(len(packet), 102)
        self.assertEqual(packet[:6], b'\xff' * 6)
        self.assertEqual(packet[6:], bytes.fromhex('021a2b3c4d5e') * 16)

    def test_secureon_follows_the_mac_copies(self):
        packet = wake_lib.magic_packet(MAC.upper().replace(':', '-'), '01:02:03:04:05:06')
        self.assertEqual(len(packet), 108)
        self.assertEqual(packet[102:], bytes([1, 2, 3, 4, 5, 6]))
        self.assertEqual(len(wake_lib.magic_packet(MAC, 'aa:bb:cc:dd')), 106)

    def test_empty_secureon_is_none(self):
        self.assertEqual(wake_lib.secureon_bytes(''), b'')
        self.assertEqual(wake_lib.secureon_bytes(None), b'')

    def test_bad_secureon_is_refused_without_echoing_it(self):
        for bad in ['01:02:03', '01:02:03:04:05', 'zz:02:03:04', '0102030405', 'hunter2!']:
            with self.assertRaises(wake_lib.WakeError) as caught:
                wake_lib.secureon_bytes(bad)
            self.assertNotIn(bad, str(caught.exception))

    def test_bad_mac_is_refused(self):
        for bad in ['02:1a:2b:3c:4d', '02:1a:2b:3c:4d:5e:6f', 'not a mac', '']:
            with self.assertRaises(wake_lib.WakeError):
                wake_lib.magic_packet(bad)

    def test_sends_each_packet_over_udp(self):
        receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        receiver.bind(('127.0.0.1', 0))
        receiver.settimeout(2)
        port = receiver.getsockname()[1]
        pauses = []
        try:
            packet = wake_lib.magic_packet(MAC, '01:02:03:04:05:06')
            self.assertEqual(wake_lib.send_packets(packet, '127.0.0.1', port, 3, 0.5, sleep=pauses.append), 3)
            got = [receiver.recv(200) for _ in range(3)]
        finally:
            receiver.close()
        self.assertEqual(got, [packet] * 3)
        self.assertEqual(pauses, [0.5, 0.5])

    def test_a_send_that_fails_says_where_to(self):
        with self.assertRaises(wake_lib.WakeError) as caught:
            wake_lib.send_packets(b'x', '203.0.113.300', 9, 1, 0)
        self.assertIn('could not send to 203.0.113.300:9', str(caught.exception))


class FakeApi:
    """Answers ProxmoxApi.call from a script of (method, path suffix) -> data."""

    def __init__(self, answers):
        self.name = 'pve1'
        self.vmid = None
        self.answers = answers
        self.calls = []

    def call(self, method, path):
        self.calls.append('%s %s' % (method, path))
        for (m, suffix), data in self.answers:
            if m == method and path.endswith(suffix):
                if isinstance(data, list):
                    return data.pop(0)
                return data
        raise AssertionError('unexpected %s %s' % (method, path))


class StartVmTest(unittest.TestCase):
    def test_a_running_vm_is_left_alone(self):
        api = FakeApi([(('GET', '/status/current'), {'status': 'running'})])
        self.assertEqual(wake_lib.start_vm(api, 'pve', 101)['state'], 'already_running')
        self.assertEqual(api.calls, ['GET /nodes/pve/qemu/101/status/current'])

    def test_check_mode_only_reads(self):
        api = FakeApi([(('GET', '/status/current'), {'status': 'stopped'})])
        self.assertEqual(wake_lib.start_vm(api, 'pve', 101, check_mode=True)['state'], 'would_start')
        self.assertEqual(len(api.calls), 1)

    def test_starts_and_polls_the_task_until_it_stopped_ok(self):
        upid = 'UPID:pve:00001A2B:0011D3A4:65A0B0C0:qmstart:101:root@pam!mko:'
        api = FakeApi([
            (('GET', '/status/current'), [{'status': 'stopped'}, {'status': 'running'}]),
            (('POST', '/status/start'), upid),
            (('GET', '/status'), [{'status': 'running'}, {'status': 'stopped', 'exitstatus': 'OK'}]),
        ])
        started = wake_lib.start_vm(api, 'pve', 101, sleep=lambda s: None)
        self.assertEqual((started['state'], started['upid']), ('started', upid))
        self.assertEqual([c.split(' ')[0] + ' ' + c.split('/')[-1] for c in api.calls],
                         ['GET current', 'POST start', 'GET status', 'GET status', 'GET current'])
        self.assertIn('/tasks/UPID%3Apve%3A', api.calls[2])

    def test_a_failed_task_gives_its_exitstatus(self):
        api = FakeApi([
            (('GET', '/status/current'), {'status': 'stopped'}),
            (('POST', '/status/start'), 'UPID:pve:1:2:3:qmstart:102:root@pam!mko:'),
            (('GET', '/status'), {'status': 'stopped', 'exitstatus': 'start failed: QEMU exited with code 1'}),
        ])
        with self.assertRaises(wake_lib.WakeError) as caught:
            wake_lib.start_vm(api, 'pve', 102, sleep=lambda s: None)
        self.assertRegex(str(caught.exception), r'^starting VM 102 on pve failed: task UPID:\S+ ended with "start failed: QEMU exited with code 1"$')

    def test_a_task_that_never_stops_is_bounded(self):
        ticks = iter(range(0, 1000, 10))
        api = FakeApi([
            (('GET', '/status/current'), {'status': 'stopped'}),
            (('POST', '/status/start'), 'UPID:pve:1:2:3:qmstart:101:root@pam!mko:'),
            (('GET', '/status'), {'status': 'running'}),
        ])
        with self.assertRaises(wake_lib.WakeError) as caught:
            wake_lib.start_vm(api, 'pve', 101, task_timeout=30, sleep=lambda s: None, clock=lambda: next(ticks))
        self.assertIn('still running after', str(caught.exception))

    def test_no_upid_is_an_error(self):
        api = FakeApi([(('GET', '/status/current'), {'status': 'stopped'}), (('POST', '/status/start'), None)])
        with self.assertRaises(wake_lib.WakeError):
            wake_lib.start_vm(api, 'pve', 101)


class AnswerTest(unittest.TestCase):
    def setUp(self):
        self.api = wake_lib.ProxmoxApi('https://pve1.lan:8006', 'root@pam!mko', 's3cr3t-token', name='pve1')
        self.api.vmid = 101

    def answer(self, status, reason, body=b'{"data": null}'):
        return self.api._answer('POST', '/nodes/pve/qemu/101/status/start', status, reason, body)

    def test_401_names_the_token_and_the_fix(self):
        with self.assertRaises(wake_lib.WakeError) as caught:
            self.answer(401, 'invalid token value!')
        self.assertEqual(str(caught.exception), 'Proxmox pve1 rejected API token root@pam!mko (401 invalid token value!): '
                                                'check the token id and secret (mko proxmox remove, then add again)')

    def test_403_names_the_privilege(self):
        with self.assertRaises(wake_lib.WakeError) as caught:
            self.answer(403, 'Permission check failed')
        self.assertIn('it needs VM.PowerMgmt on /vms/101', str(caught.exception))

    def test_a_missing_vm_says_so(self):
        with self.assertRaises(wake_lib.WakeError) as caught:
            self.answer(500, "Configuration file 'nodes/pve/qemu-server/101.conf' does not exist")
        self.assertIn('has no such VM', str(caught.exception))

    def test_the_secret_is_in_no_message(self):
        for status in (401, 403, 500, 404):
            with self.assertRaises(wake_lib.WakeError) as caught:
                self.answer(status, 'x')
            self.assertNotIn('s3cr3t-token', str(caught.exception))

    def test_data_is_returned(self):
        self.assertEqual(self.answer(200, 'OK', b'{"data": "UPID:x"}'), 'UPID:x')

    def test_only_https(self):
        with self.assertRaises(wake_lib.WakeError):
            wake_lib.ProxmoxApi('http://pve1:8006', 'a@b!c', 'x')

    def test_refused_connections_are_retried_with_backoff_then_named(self):
        with socket.socket() as probe:
            probe.bind(('127.0.0.1', 0))
            port = probe.getsockname()[1]
        pauses = []
        api = wake_lib.ProxmoxApi('https://127.0.0.1:%d' % port, 'a@b!c', 'x', name='pve9', retries=3, sleep=pauses.append)
        with self.assertRaises(wake_lib.WakeError) as caught:
            api.call('GET', '/version')
        self.assertEqual(str(caught.exception), 'cannot reach Proxmox pve9 at https://127.0.0.1:%d: ECONNREFUSED' % port)
        self.assertEqual(pauses, [1.0, 2.0, 4.0])
        self.assertEqual(api.retried, [
            {'attempt': 1, 'of': 4, 'message': 'Proxmox pve9: GET /version: ECONNREFUSED; trying again in 1 s'},
            {'attempt': 2, 'of': 4, 'message': 'Proxmox pve9: GET /version: ECONNREFUSED; trying again in 2 s'},
            {'attempt': 3, 'of': 4, 'message': 'Proxmox pve9: GET /version: ECONNREFUSED; trying again in 4 s'},
        ])

    def test_fingerprint_must_be_sha256(self):
        with self.assertRaises(wake_lib.WakeError):
            wake_lib.ProxmoxApi('https://pve1:8006', 'a@b!c', 'x', fingerprint='ab:cd')
        digits = 'AB' * 32
        api = wake_lib.ProxmoxApi('https://pve1:8006', 'a@b!c', 'x', fingerprint=':'.join(digits[i:i + 2] for i in range(0, 64, 2)))
        self.assertEqual(api.fingerprint, 'ab' * 32)


if __name__ == '__main__':
    unittest.main()
