# Copyright: mko contributors
# SPDX-License-Identifier: Apache-2.0
"""Tests of the Proxmox host check (wake_lib.check_host, behind mko.fleet.proxmox_check), standard
library only:

    python3 -m unittest discover -s collections/ansible_collections/mko/fleet/tests/unit -v

Real HTTPS on 127.0.0.1: a small Proxmox VE API server with a CA and a server certificate made by
openssl for the test, checking the token header as Proxmox does.
"""

import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODULE_UTILS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'plugins', 'module_utils')
sys.path.insert(0, MODULE_UTILS)
import wake_lib  # noqa: E402 - the file itself, not through an installed collection

TOKEN_ID = 'root@pam!mko'
SECRET = '5d0b7c1e-8f1a-4b7e-9c3d-2a6f0e4b8c11'


class FakePve(BaseHTTPRequestHandler):
    """GET /version and /nodes/pve/qemu/{vmid}/status/current, as Proxmox VE 8 answers them."""

    vms = {101: 'running', 102: 'stopped'}
    # VMs the token may not see (no VM.Audit on /vms/{vmid}).
    denied = {103}
    requests = []

    def log_message(self, *args):
        pass

    def send(self, status, reason, data):
        body = json.dumps({'data': data}).encode()
        self.send_response(status, reason)
        self.send_header('Content-Type', 'application/json;charset=UTF-8')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        FakePve.requests.append((self.command, self.path))
        if self.headers.get('Authorization') != 'PVEAPIToken=%s=%s' % (TOKEN_ID, SECRET):
            return self.send(401, 'invalid token value!', None)
        if self.path == '/api2/json/version':
            return self.send(200, 'OK', {'version': '8.2.4', 'release': '8.2', 'repoid': 'faa83925c9641325'})
        prefix, suffix = '/api2/json/nodes/pve/qemu/', '/status/current'
        if self.path.startswith(prefix) and self.path.endswith(suffix):
            vmid = int(self.path[len(prefix):-len(suffix)])
            if vmid in FakePve.denied:
                return self.send(403, 'Permission check failed (/vms/%d, VM.Audit)' % vmid, None)
            if vmid not in FakePve.vms:
                return self.send(500, "Configuration file 'nodes/pve/qemu-server/%d.conf' does not exist" % vmid, None)
            return self.send(200, 'OK', {'vmid': vmid, 'status': FakePve.vms[vmid]})
        return self.send(501, "Method 'GET %s' not implemented" % self.path, None)


def openssl(directory, *args):
    subprocess.run(['openssl'] + list(args), cwd=directory, check=True, capture_output=True)


@unittest.skipUnless(shutil.which('openssl'), 'needs the openssl command to make certificates')
class CheckHostTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix='mko-pve-')
        ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
        openssl(cls.dir, 'req', '-x509', *ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=mko test Proxmox CA')
        openssl(cls.dir, 'req', '-x509', *ec, '-keyout', 'other.key', '-out', 'other-ca.pem', '-days', '2', '-subj', '/CN=some other CA')
        openssl(cls.dir, 'req', *ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=pve')
        with open(os.path.join(cls.dir, 'server.ext'), 'w') as ext:
            ext.write('subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n')
        openssl(cls.dir, 'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
                '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext')
        cls.server = ThreadingHTTPServer(('127.0.0.1', 0), FakePve)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(os.path.join(cls.dir, 'server.pem'), os.path.join(cls.dir, 'server.key'))
        cls.server.socket = context.wrap_socket(cls.server.socket, server_side=True)
        cls.url = 'https://127.0.0.1:%d' % cls.server.server_address[1]
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        FakePve.requests = []

    def api(self, secret=SECRET, ca='ca.pem', url=None, **extra):
        return wake_lib.ProxmoxApi(url or self.url, TOKEN_ID, secret, name='pve1', ca_file=os.path.join(self.dir, ca),
                                   retries=0, timeout=5, **extra)

    def test_reports_the_version_and_each_vm(self):
        vms = [{'node': 'pi-vm1', 'proxmox_node': 'pve', 'vmid': 101}, {'node': 'pi-vm2', 'proxmox_node': 'pve', 'vmid': 102}]
        report = wake_lib.check_host(self.api(), vms)
        self.assertTrue(report['ok'])
        self.assertEqual((report['version'], report['release'], report['error']), ('8.2.4', '8.2', None))
        self.assertEqual([(v['vmid'], v['status'], v['error']) for v in report['vms']], [(101, 'running', None), (102, 'stopped', None)])
        self.assertEqual(report['summary'], 'pve1: ok, Proxmox VE 8.2.4; vm 101 (node pi-vm1): running; vm 102 (node pi-vm2): stopped')
        self.assertEqual(FakePve.requests, [('GET', '/api2/json/version'), ('GET', '/api2/json/nodes/pve/qemu/101/status/current'),
                                            ('GET', '/api2/json/nodes/pve/qemu/102/status/current')])

    def test_only_reads(self):
        wake_lib.check_host(self.api(), [{'node': 'pi-vm1', 'proxmox_node': 'pve', 'vmid': 101}])
        self.assertEqual({method for method, _ in FakePve.requests}, {'GET'})

    def test_no_vms_is_said(self):
        self.assertEqual(wake_lib.check_host(self.api(), [])['summary'], 'pve1: ok, Proxmox VE 8.2.4; no mko node is a VM on it')

    def test_a_pinned_fingerprint_is_enough(self):
        with open(os.path.join(self.dir, 'server.pem')) as pem:
            der = ssl.PEM_cert_to_DER_cert(pem.read())
        api = wake_lib.ProxmoxApi(self.url, TOKEN_ID, SECRET, name='pve1', fingerprint=hashlib.sha256(der).hexdigest(), retries=0)
        self.assertTrue(wake_lib.check_host(api, [])['ok'])

    def test_a_wrong_ca_is_refused_before_any_request(self):
        report = wake_lib.check_host(self.api(ca='other-ca.pem'), [{'node': 'pi-vm1', 'proxmox_node': 'pve', 'vmid': 101}])
        self.assertFalse(report['ok'])
        self.assertIsNone(report['version'])
        self.assertEqual(report['vms'], [])
        self.assertRegex(report['error'], r'^TLS check of Proxmox pve1 \(https://127\.0\.0\.1:\d+\) failed against the CA in \S+other-ca\.pem: '
                                          r'.*\((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\); give the CA')
        self.assertEqual(FakePve.requests, [])

    def test_a_wrong_fingerprint_is_refused(self):
        api = wake_lib.ProxmoxApi(self.url, TOKEN_ID, SECRET, name='pve1', fingerprint='ab' * 32, retries=0)
        report = wake_lib.check_host(api, [])
        self.assertIn('not the pinned AB:AB:', report['error'])
        self.assertEqual(FakePve.requests, [])

    def test_a_bad_token_is_the_401_it_is(self):
        report = wake_lib.check_host(self.api(secret='00000000-0000-4000-8000-000000000000'), [])
        self.assertEqual(report['summary'], 'pve1: Proxmox pve1 rejected API token root@pam!mko (401 invalid token value!): '
                                            'check the token id and secret (mko proxmox remove, then add again)')
        self.assertNotIn('00000000-0000-4000-8000-000000000000', json.dumps(report))

    def test_a_vm_the_token_may_not_read_names_the_privileges_and_the_fix(self):
        report = wake_lib.check_host(self.api(), [{'node': 'pi-vm1', 'proxmox_node': 'pve', 'vmid': 101},
                                                  {'node': 'pi-vm3', 'proxmox_node': 'pve', 'vmid': 103}])
        self.assertFalse(report['ok'])
        self.assertEqual(report['version'], '8.2.4')
        self.assertEqual(report['vms'][1]['error'],
                         'API token root@pam!mko may not GET /nodes/pve/qemu/103/status/current on Proxmox pve1 '
                         '(403 Permission check failed (/vms/103, VM.Audit)): it needs VM.Audit and VM.PowerMgmt on /vms/103: '
                         "on a Proxmox node, pveum acl modify /vms/103 --tokens 'root@pam!mko' --roles PVEVMUser")
        self.assertTrue(report['summary'].startswith('pve1: not ok, Proxmox VE 8.2.4; vm 101 (node pi-vm1): running; vm 103 (node pi-vm3): API token'))

    def test_a_missing_vm_and_an_unset_vm_say_what_to_do(self):
        report = wake_lib.check_host(self.api(), [{'node': 'pi-vm9', 'proxmox_node': 'pve', 'vmid': 999},
                                                  {'node': 'pi-vm8', 'proxmox_node': None, 'vmid': None}])
        self.assertIn('has no such VM', report['vms'][0]['error'])
        self.assertEqual(report['vms'][1]['error'], 'mko knows no Proxmox node and VM id for it: '
                                                    'mko wol configure pi-vm8 --method proxmox --proxmox-node NODE --vmid ID')
        self.assertIn('vm ? (node pi-vm8): mko knows no', report['summary'])

    def test_an_unreachable_host_says_so(self):
        with socket.socket() as probe:
            probe.bind(('127.0.0.1', 0))
            port = probe.getsockname()[1]
        report = wake_lib.check_host(self.api(url='https://127.0.0.1:%d' % port), [])
        self.assertEqual(report['summary'], 'pve1: cannot reach Proxmox pve1 at https://127.0.0.1:%d: ECONNREFUSED' % port)

    def test_the_secret_is_in_no_report(self):
        for api in (self.api(), self.api(ca='other-ca.pem')):
            report = wake_lib.check_host(api, [{'node': 'pi-vm3', 'proxmox_node': 'pve', 'vmid': 103}])
            self.assertNotIn(SECRET, json.dumps(report))


if __name__ == '__main__':
    unittest.main()
