# -*- coding: utf-8 -*-
# Copyright: mko contributors
# SPDX-License-Identifier: Apache-2.0
"""Waking one node, without Ansible: Wake-on-LAN magic packets (with a SecureOn password) and the
Proxmox VE API's VM start with its task wait; and the read-only test of a Proxmox host (its version,
the state of the VMs mko starts there). Used by the mko.fleet.wake and mko.fleet.proxmox_check
modules; standard library only, so that the unit tests import this file by itself.

Magic packet (FACTS): 6 bytes 0xFF, the 6-byte MAC 16 times (102 bytes), optionally a 4 or 6 byte
SecureOn password. Proxmox VE: POST /nodes/{node}/qemu/{vmid}/status/start answers a task id
(UPID), polled at /nodes/{node}/tasks/{upid}/status until it is stopped with exitstatus OK; token
auth header PVEAPIToken=USER@REALM!TOKENID=SECRET; TLS checked against the pinned cluster CA.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import errno
import hashlib
import json
import re
import socket
import ssl
import time

from http.client import HTTPSConnection, HTTPException
from urllib.parse import quote, urlsplit

SYNC = b'\xff' * 6
MAC_REPEATS = 16
MAGIC_PACKET_LENGTH = 6 + 6 * MAC_REPEATS
HEX_BYTE = '[0-9A-Fa-f]{2}'
MAC_PATTERN = re.compile('^%s([:-]%s){5}$' % (HEX_BYTE, HEX_BYTE))
SECUREON_PATTERN = re.compile('^(%s([:-]%s){3}|%s([:-]%s){5})$' % (HEX_BYTE, HEX_BYTE, HEX_BYTE, HEX_BYTE))

# OpenSSL's X509_V_ERR_* names for the verify codes a Proxmox certificate can fail with.
TLS_CODES = {
    2: 'UNABLE_TO_GET_ISSUER_CERT',
    7: 'CERT_SIGNATURE_FAILURE',
    9: 'CERT_NOT_YET_VALID',
    10: 'CERT_HAS_EXPIRED',
    18: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    19: 'SELF_SIGNED_CERT_IN_CHAIN',
    20: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    21: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    27: 'CERT_UNTRUSTED',
    28: 'CERT_REJECTED',
    62: 'HOSTNAME_MISMATCH',
    64: 'IP_ADDRESS_MISMATCH',
}
# Answers that say the request did not get through this time (worth another try).
TRANSIENT_STATUS = (502, 503, 504)


class WakeError(Exception):
    """What went wrong, in one line for the user; never holds a secret."""


def utc_now():
    """The controller's clock: UTC ISO 8601 with milliseconds, and seconds since the epoch."""
    at = datetime.datetime.now(datetime.timezone.utc)
    return at.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (at.microsecond // 1000), round(at.timestamp(), 3)


def mac_bytes(mac):
    if not isinstance(mac, str) or not MAC_PATTERN.match(mac):
        raise WakeError('not a MAC address: %r (want aa:bb:cc:dd:ee:ff)' % (mac,))
    return bytes.fromhex(re.sub('[:-]', '', mac))


def secureon_bytes(password):
    """A SecureOn password written as 4 or 6 hex bytes (aa:bb:cc:dd[:ee:ff]); '' or None is none."""
    if not password:
        return b''
    if not isinstance(password, str) or not SECUREON_PATTERN.match(password.strip()):
        # Never echo the value: it is a secret even when it is malformed.
        raise WakeError('the SecureOn password must be 4 or 6 hex bytes separated by colons (aa:bb:cc:dd or aa:bb:cc:dd:ee:ff)')
    return bytes.fromhex(re.sub('[:-]', '', password.strip()))


def magic_packet(mac, password=None):
    """102 bytes for the MAC, 106 or 108 with a SecureOn password."""
    return SYNC + mac_bytes(mac) * MAC_REPEATS + secureon_bytes(password)


def send_packets(packet, broadcast, port, count, interval, sleep=time.sleep, make_socket=None):
    """Send `count` copies `interval` seconds apart to broadcast:port. Returns how many went out."""
    if make_socket is None:
        make_socket = lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # noqa: E731
    try:
        sock = make_socket()
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            for number in range(1, count + 1):
                sock.sendto(packet, (broadcast, port))
                if number < count:
                    sleep(interval)
        finally:
            sock.close()
    except OSError as error:
        raise WakeError('could not send to %s:%d: %s' % (broadcast, port, error_name(error)))
    return count


def error_name(error):
    """ECONNREFUSED rather than '[Errno 111] Connection refused' (what mko has always shown)."""
    code = getattr(error, 'errno', None)
    if isinstance(error, socket.timeout):
        return 'ETIMEDOUT'
    if code in errno.errorcode:
        return errno.errorcode[code]
    return str(error) or type(error).__name__


class ProxmoxApi:
    """The few calls a VM start needs, with bounded retries and a timeout per request."""

    def __init__(self, url, token_id, token_secret, name=None, ca_file=None, fingerprint=None,
                 validate_certs=True, timeout=15, retries=3, backoff=1.0, sleep=time.sleep):
        parts = urlsplit(url)
        if parts.scheme != 'https' or not parts.hostname:
            raise WakeError('api_url must be the https URL of the Proxmox VE API, e.g. https://pve1.lan:8006 (got %r)' % (url,))
        self.url = '%s://%s' % (parts.scheme, parts.netloc)
        self.host = parts.hostname
        self.port = parts.port or 8006
        self.name = name or parts.hostname
        self.token_id = token_id
        self._auth = 'PVEAPIToken=%s=%s' % (token_id, token_secret)
        self.ca_file = ca_file
        self.fingerprint = normalise_fingerprint(fingerprint) if fingerprint else None
        self.validate_certs = validate_certs
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep
        self.vmid = None
        # The attempts that failed and were tried again: the module returns them as mko_retries,
        # which the history callback records as the step's retry events.
        self.retried = []

    def _context(self):
        if self.fingerprint or not self.validate_certs:
            # A pinned fingerprint is checked after the handshake, against the server's own certificate.
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        try:
            return ssl.create_default_context(cafile=self.ca_file) if self.ca_file else ssl.create_default_context()
        except (OSError, ssl.SSLError) as error:
            raise WakeError('cannot read the CA file %s of Proxmox %s: %s' % (self.ca_file, self.name, error))

    def _once(self, method, path):
        connection = HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self._context())
        try:
            connection.connect()
            if self.fingerprint:
                seen = hashlib.sha256(connection.sock.getpeercert(binary_form=True)).hexdigest()
                if seen != self.fingerprint:
                    raise WakeError(
                        'TLS check of Proxmox %s (%s) failed: its certificate has SHA-256 fingerprint %s, not the pinned %s'
                        % (self.name, self.url, colon_hex(seen), colon_hex(self.fingerprint)))
            headers = {'Authorization': self._auth, 'Accept': 'application/json'}
            if method == 'POST':
                headers['Content-Length'] = '0'
            connection.request(method, '/api2/json' + path, headers=headers)
            response = connection.getresponse()
            return response.status, response.reason, response.read()
        finally:
            connection.close()

    def call(self, method, path):
        """The answer's data; WakeError with the reason in words. GETs are retried on transient
        failures; a POST only when the connection was refused (the request never arrived)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                status, reason, body = self._once(method, path)
            except ssl.SSLCertVerificationError as error:
                raise self._tls_error(error)
            except (OSError, HTTPException) as error:
                again = isinstance(error, ConnectionRefusedError) or method == 'GET'
                if again and attempt <= self.retries:
                    self._pause(attempt, '%s %s: %s' % (method, path, error_name(error)))
                    continue
                raise WakeError('cannot reach Proxmox %s at %s: %s' % (self.name, self.url, error_name(error)))
            if status in TRANSIENT_STATUS and method == 'GET' and attempt <= self.retries:
                self._pause(attempt, '%s %s: %d %s' % (method, path, status, reason))
                continue
            return self._answer(method, path, status, reason, body)

    def needed_privileges(self, method):
        """What a 403 lacks: a start needs VM.PowerMgmt; reading a VM's state VM.Audit, and mko
        reads it before every start, so a read names both (and how to grant them)."""
        vm = '/vms/%s' % (self.vmid if self.vmid is not None else '{vmid}')
        if method == 'POST':
            return 'it needs VM.PowerMgmt on %s' % vm
        return ("it needs VM.Audit and VM.PowerMgmt on %s: on a Proxmox node, pveum acl modify %s --tokens '%s' --roles PVEVMUser"
                % (vm, vm, self.token_id))

    def _pause(self, attempt, why):
        pause = min(self.backoff * (2 ** (attempt - 1)), 10)
        self.retried.append({'attempt': attempt, 'of': self.retries + 1,
                             'message': 'Proxmox %s: %s; trying again in %g s' % (self.name, why, pause)})
        self._sleep(pause)

    def _tls_error(self, error):
        code = TLS_CODES.get(getattr(error, 'verify_code', None), 'TLS_ERROR')
        against = 'the CA in %s' % self.ca_file if self.ca_file else "this machine's CAs (no --ca-file)"
        message = getattr(error, 'verify_message', None) or str(error)
        return WakeError(
            'TLS check of Proxmox %s (%s) failed against %s: %s (%s); give the CA that signed its certificate '
            '(/etc/pve/pve-root-ca.pem on a Proxmox node) with --ca-file' % (self.name, self.url, against, message, code))

    def _answer(self, method, path, status, reason, body):
        what = ('%d %s' % (status, reason or '')).strip()
        if status == 401:
            raise WakeError('Proxmox %s rejected API token %s (%s): check the token id and secret (mko proxmox remove, then add again)'
                            % (self.name, self.token_id, what))
        if status == 403:
            raise WakeError('API token %s may not %s %s on Proxmox %s (%s): %s'
                            % (self.token_id, method, path, self.name, what, self.needed_privileges(method)))
        if status == 500 and 'does not exist' in (reason or ''):
            raise WakeError('Proxmox %s has no such VM: %s %s answered %s; check --vmid and --proxmox-node (mko wol configure)'
                            % (self.name, method, path, what))
        if status < 200 or status >= 300:
            raise WakeError('Proxmox %s: %s %s answered %s' % (self.name, method, path, what))
        try:
            return json.loads(body.decode('utf-8'))['data']
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise WakeError('Proxmox %s: %s %s answered something that is not JSON' % (self.name, method, path))


def normalise_fingerprint(text):
    digits = re.sub('[^0-9a-f]', '', text.lower())
    if len(digits) != 64:
        raise WakeError('api_fingerprint must be the SHA-256 fingerprint of the server certificate (64 hex digits, colons allowed)')
    return digits


def colon_hex(digits):
    return ':'.join(digits[i:i + 2] for i in range(0, len(digits), 2)).upper()


def vm_path(node, vmid):
    return '/nodes/%s/qemu/%d' % (quote(node, safe=''), vmid)


def vm_status(api, node, vmid):
    data = api.call('GET', vm_path(node, vmid) + '/status/current')
    return data.get('status', '') if isinstance(data, dict) else ''


def start_vm(api, node, vmid, task_timeout=120, poll_interval=0.5, check_mode=False, sleep=time.sleep, clock=time.monotonic):
    """Start the VM unless it runs; wait until its start task stopped with exitstatus OK and the VM
    runs. Returns {'state': already_running|would_start|started, 'upid', 'seconds'}."""
    api.vmid = vmid
    began = clock()
    if vm_status(api, node, vmid) == 'running':
        return {'state': 'already_running', 'upid': None, 'seconds': 0.0}
    if check_mode:
        return {'state': 'would_start', 'upid': None, 'seconds': 0.0}
    upid = api.call('POST', vm_path(node, vmid) + '/status/start')
    if not isinstance(upid, str) or not upid.startswith('UPID:'):
        raise WakeError('Proxmox %s answered the start of VM %d without a task id (UPID)' % (api.name, vmid))
    task_path = '/nodes/%s/tasks/%s/status' % (quote(node, safe=''), quote(upid, safe=''))
    while True:
        task = api.call('GET', task_path)
        task = task if isinstance(task, dict) else {}
        if task.get('status') == 'stopped':
            if task.get('exitstatus') != 'OK':
                raise WakeError('starting VM %d on %s failed: task %s ended with "%s"' % (vmid, node, upid, task.get('exitstatus') or 'no exit status'))
            break
        if clock() - began > task_timeout:
            raise WakeError('starting VM %d on %s: task %s still %s after %d s' % (vmid, node, upid, task.get('status', '?'), round(clock() - began)))
        sleep(poll_interval)
    after = vm_status(api, node, vmid)
    if after != 'running':
        raise WakeError('VM %d on %s is %s after its start task succeeded' % (vmid, node, after or 'in no known state'))
    return {'state': 'started', 'upid': upid, 'seconds': round(clock() - began, 3)}


def check_host(api, vms):
    """Read-only test of one Proxmox host: GET /version, then status/current of each VM mko starts
    there (vms: dicts with node, the mko node, and proxmox_node and vmid, either of which may be
    missing). Never raises WakeError: what failed is in the report, with the fix."""
    report = {'host': api.name, 'url': api.url, 'ok': False, 'version': None, 'release': None, 'error': None, 'vms': []}
    try:
        version = api.call('GET', '/version')
    except WakeError as error:
        report['error'] = str(error)
        report['summary'] = '%s: %s' % (api.name, error)
        return report
    version = version if isinstance(version, dict) else {}
    report['version'] = version.get('version') or None
    report['release'] = version.get('release') or None
    for vm in vms:
        report['vms'].append(check_vm(api, vm))
    report['ok'] = all(vm['error'] is None for vm in report['vms'])
    report['summary'] = summary(report)
    return report


def check_vm(api, vm):
    found = {'node': vm.get('node'), 'proxmox_node': vm.get('proxmox_node'), 'vmid': vm.get('vmid'), 'status': None, 'error': None}
    if not found['proxmox_node'] or not found['vmid']:
        found['error'] = ('mko knows no Proxmox node and VM id for it: mko wol configure %s --method proxmox --proxmox-node NODE --vmid ID'
                          % (found['node'] or '<node>'))
        return found
    api.vmid = found['vmid']
    try:
        status = vm_status(api, found['proxmox_node'], found['vmid'])
    except WakeError as error:
        found['error'] = str(error)
        return found
    finally:
        api.vmid = None
    if status in ('running', 'stopped'):
        found['status'] = status
    else:
        found['error'] = 'Proxmox %s answered VM %d with no known state (%r)' % (api.name, found['vmid'], status)
    return found


def summary(report):
    """One line: pve1: ok, Proxmox VE 8.2.4; vm 101 (node pi-vm1): running"""
    parts = ['%s: %s, Proxmox VE %s' % (report['host'], 'ok' if report['ok'] else 'not ok', report['version'] or '(version not given)')]
    for vm in report['vms']:
        parts.append('vm %s (node %s): %s' % (vm['vmid'] if vm['vmid'] else '?', vm['node'], vm['status'] or vm['error']))
    if not report['vms']:
        parts.append('no mko node is a VM on it')
    return '; '.join(parts)
