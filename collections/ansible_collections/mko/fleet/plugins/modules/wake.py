#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mko contributors
# SPDX-License-Identifier: Apache-2.0
"""Wake one node: Wake-on-LAN magic packets, or its VM started through the Proxmox VE API."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: wake
short_description: Wake one node by Wake-on-LAN magic packet (with SecureOn) or by starting its Proxmox VE VM
version_added: 0.3.0
author: mko contributors
description:
  - "Run it on the controller (C(delegate_to: localhost)): it sends from there, and never logs in to the node."

  - C(magic_packet) sends O(packets) magic packets, O(interval) seconds apart, to O(broadcast):O(port).
    A packet is 6 bytes 0xFF and the MAC 16 times (102 bytes), followed by the SecureOn password when
    O(secureon) is given (108 bytes with a 6-byte password). Always give the node's directed broadcast, since
    255.255.255.255 leaves through one interface of the controller only.
  - C(proxmox) asks the Proxmox VE API for the VM's state and, unless it runs, POSTs its
    C(status/start), then polls the returned task (UPID) until it is stopped with exitstatus OK
    (bounded by O(task_timeout)) and checks that the VM runs. TLS is verified against O(api_ca_file)
    (the cluster CA, /etc/pve/pve-root-ca.pem), or the server certificate's SHA-256 O(api_fingerprint);
    O(api_validate_certs=false) turns checking off. Read requests are retried on transient failures
    with backoff; every request has a timeout. 401, 403, a missing VM and a TLS mismatch fail with
    what to do about them.
  - Whether the node answers SSH is the caller's business (the C(wol) role's C(wake) entry point
    checks before and waits after).
  - Python 3.6 or later, standard library only.
options:
  method:
    description: How the node is woken.
    type: str
    required: true
    choices: [magic_packet, proxmox]
  mac:
    description: With magic_packet, the MAC of the NIC that wakes the node.
    type: str
  broadcast:
    description: With magic_packet, the directed broadcast address of the node's subnet.
    type: str
  port:
    description: With magic_packet, the UDP port (9, or 7).
    type: int
    default: 9
  secureon:
    description: With magic_packet, the NIC's SecureOn password, 4 or 6 hex bytes (aa:bb:cc:dd:ee:ff); empty for none.
    type: str
  packets:
    description: With magic_packet, how many packets (a lost UDP packet is no error on the wire).
    type: int
    default: 3
  interval:
    description: With magic_packet, seconds between packets.
    type: float
    default: 1.0
  proxmox_host:
    description: With proxmox, the name of the Proxmox host in messages (mko's name for it).
    type: str
  api_url:
    description: With proxmox, the API's https URL without a path, e.g. https://pve1.lan:8006.
    type: str
  api_token_id:
    description: With proxmox, the API token id USER@REALM!TOKENID.
    type: str
  api_token_secret:
    description: With proxmox, the API token secret.
    type: str
  api_ca_file:
    description: With proxmox, PEM file of the CA that signed the API's certificate.
    type: path
  api_fingerprint:
    description: With proxmox, SHA-256 fingerprint of the API's certificate (hex, colons allowed), instead of a CA.
    type: str
  api_validate_certs:
    description: With proxmox, verify TLS at all (false is insecure, warned about).
    type: bool
    default: true
  api_timeout:
    description: With proxmox, seconds one API request may take.
    type: int
    default: 15
  api_retries:
    description: With proxmox, how many more times a request that failed transiently is tried (1, 2, 4 s apart).
    type: int
    default: 3
  proxmox_node:
    description: With proxmox, the Proxmox node that runs the VM.
    type: str
  vmid:
    description: With proxmox, the VM id.
    type: int
  task_timeout:
    description: With proxmox, seconds the start task may take.
    type: int
    default: 120
attributes:
  check_mode:
    support: full
    details: magic_packet sends nothing; proxmox only reads the VM's state.
"""

EXAMPLES = r"""
- name: Wake the node by magic packet, with its SecureOn password
  mko.fleet.wake:
    method: magic_packet
    mac: "{{ mko_wol_mac }}"
    broadcast: "{{ mko_wol_broadcast }}"
    port: "{{ mko_wol_port }}"
    secureon: "{{ wol_wake_secureon[inventory_hostname] | default('') }}"
  delegate_to: localhost
  no_log: true

- name: Start the node's VM through Proxmox VE and wait for the start task
  mko.fleet.wake:
    method: proxmox
    proxmox_host: pve1
    api_url: https://pve1.lan:8006
    api_token_id: root@pam!mko
    api_token_secret: "{{ pve1_token_secret }}"
    api_ca_file: /etc/mko/pve-root-ca.pem
    proxmox_node: pve1
    vmid: 101
  delegate_to: localhost
  no_log: true
"""

RETURN = r"""
state:
  description: sent, would_send, started, would_start or already_running.
  returned: success
  type: str
packets:
  description: Magic packets sent (0 for proxmox, and in check mode).
  returned: success
  type: int
packet_bytes:
  description: Length of one magic packet (102, or 106/108 with SecureOn).
  returned: with magic_packet
  type: int
secureon:
  description: Whether the packets carry a SecureOn password (the password itself is never returned).
  returned: with magic_packet
  type: bool
sent_at:
  description: When the first packet (or the start request) went out, UTC ISO 8601 with milliseconds; null when nothing was sent.
  returned: success
  type: str
sent_epoch:
  description: The same as seconds since the epoch.
  returned: success
  type: float
upid:
  description: The Proxmox task id of the start.
  returned: with proxmox, when the VM was started
  type: str
seconds:
  description: Seconds from the start request until the VM ran.
  returned: with proxmox
  type: float
mko_retries:
  description: The Proxmox API calls that failed and were tried again (attempt, of, message); the
    mko.fleet.history callback records each as a retry event of the step.
  returned: with proxmox
  type: list
  elements: dict
msg:
  description: What was done, in one line.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mko.fleet.plugins.module_utils.wake_lib import (
    WakeError, ProxmoxApi, magic_packet, send_packets, start_vm, utc_now)

NEEDS = {
    'magic_packet': ['mac', 'broadcast'],
    'proxmox': ['api_url', 'api_token_id', 'api_token_secret', 'proxmox_node', 'vmid'],
}


def by_packet(module):
    p = module.params
    packet = magic_packet(p['mac'], p['secureon'])
    secureon = len(packet) > 102
    to = '%s:%d' % (p['broadcast'], p['port'])
    what = '%d magic packet(s) of %d bytes for %s to %s%s' % (
        p['packets'], len(packet), p['mac'].lower(), to, ' with SecureOn' if secureon else '')
    result = {'packet_bytes': len(packet), 'secureon': secureon, 'sent_at': None, 'sent_epoch': None}
    if module.check_mode:
        return dict(result, changed=True, state='would_send', packets=0, msg='would send ' + what)
    sent_at, sent_epoch = utc_now()
    sent = send_packets(packet, p['broadcast'], p['port'], p['packets'], p['interval'])
    return dict(result, changed=True, state='sent', packets=sent, sent_at=sent_at, sent_epoch=sent_epoch, msg='sent ' + what)


def by_proxmox(module):
    p = module.params
    if not p['api_validate_certs'] and not p['api_fingerprint']:
        module.warn('TLS verification is OFF for Proxmox %s: pin its CA with api_ca_file instead' % (p['proxmox_host'] or p['api_url']))
    api = ProxmoxApi(p['api_url'], p['api_token_id'], p['api_token_secret'], name=p['proxmox_host'], ca_file=p['api_ca_file'],
                     fingerprint=p['api_fingerprint'], validate_certs=p['api_validate_certs'], timeout=p['api_timeout'],
                     retries=p['api_retries'])
    sent_at, sent_epoch = utc_now()
    try:
        started = start_vm(api, p['proxmox_node'], p['vmid'], task_timeout=p['task_timeout'], check_mode=module.check_mode)
    except WakeError as error:
        module.fail_json(msg=str(error), mko_retries=api.retried)
    vm = 'VM %d on %s through Proxmox %s' % (p['vmid'], p['proxmox_node'], api.name)
    state = started['state']
    result = {'state': state, 'packets': 0, 'upid': started['upid'], 'seconds': started['seconds'], 'sent_at': None, 'sent_epoch': None,
              'mko_retries': api.retried}
    if state == 'already_running':
        return dict(result, changed=False, msg='VM %d is already running' % p['vmid'])
    if state == 'would_start':
        return dict(result, changed=True, msg='would start ' + vm)
    return dict(result, changed=True, sent_at=sent_at, sent_epoch=sent_epoch, msg='VM %d started (task %s)' % (p['vmid'], started['upid']))


def main():
    module = AnsibleModule(
        argument_spec={
            'method': {'type': 'str', 'required': True, 'choices': ['magic_packet', 'proxmox']},
            'mac': {'type': 'str'},
            'broadcast': {'type': 'str'},
            'port': {'type': 'int', 'default': 9},
            'secureon': {'type': 'str', 'no_log': True},
            'packets': {'type': 'int', 'default': 3},
            'interval': {'type': 'float', 'default': 1.0},
            'proxmox_host': {'type': 'str'},
            'api_url': {'type': 'str'},
            'api_token_id': {'type': 'str'},
            'api_token_secret': {'type': 'str', 'no_log': True},
            'api_ca_file': {'type': 'path'},
            'api_fingerprint': {'type': 'str'},
            'api_validate_certs': {'type': 'bool', 'default': True},
            'api_timeout': {'type': 'int', 'default': 15},
            'api_retries': {'type': 'int', 'default': 3},
            'proxmox_node': {'type': 'str'},
            'vmid': {'type': 'int'},
            'task_timeout': {'type': 'int', 'default': 120},
        },
        required_if=[(method, method, needs) for method, needs in NEEDS.items()],
        mutually_exclusive=[('api_ca_file', 'api_fingerprint')],
        supports_check_mode=True,
    )
    p = module.params
    if not 1 <= p['port'] <= 65535 or p['packets'] < 1 or p['interval'] < 0:
        module.fail_json(msg='port must be 1-65535, packets at least 1 and interval not negative')
    if p['api_timeout'] < 1 or p['api_retries'] < 0 or p['task_timeout'] < 1:
        module.fail_json(msg='api_timeout and task_timeout must be 1 or more seconds, api_retries 0 or more')
    try:
        module.exit_json(**(by_packet(module) if p['method'] == 'magic_packet' else by_proxmox(module)))
    except WakeError as error:
        module.fail_json(msg=str(error))


if __name__ == '__main__':
    main()
