#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mko contributors
# SPDX-License-Identifier: Apache-2.0
"""Test the connection to a Proxmox VE host: its version, and the state of the VMs mko starts there."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: proxmox_check
short_description: Test a Proxmox VE API endpoint and its token, read-only
version_added: 0.3.0
author: mko contributors
description:
  - Run it on the controller. It connects to the API with the token and the TLS pinning mko.fleet.wake
    uses (the same client, module_utils wake_lib), GETs C(/version), then C(/nodes/{node}/qemu/{vmid}/status/current)
    of each VM in O(vms), and reports the version and each VM's state (running or stopped) or what
    failed, with the fix. It never changes anything (C(changed=false), in check mode too).
  - An unreachable host, a certificate the pinned CA or fingerprint does not match, and a rejected
    token (401) fail the whole check; a VM that cannot be read (403 names the missing VM.Audit and
    VM.PowerMgmt privileges and the C(pveum) command that grants them; a VM that does not exist)
    fails its line of the report, and the module.
  - The token secret is a C(no_log) option; no message holds it.
  - Python 3.6 or later, standard library only.
options:
  proxmox_host:
    description: The name of the Proxmox host in messages (mko's name for it).
    type: str
  api_url:
    description: The API's https URL without a path, e.g. https://pve1.lan:8006.
    type: str
    required: true
  api_token_id:
    description: The API token id USER@REALM!TOKENID.
    type: str
    required: true
  api_token_secret:
    description: The API token secret.
    type: str
    required: true
  api_ca_file:
    description: PEM file of the CA that signed the API's certificate (/etc/pve/pve-root-ca.pem).
    type: path
  api_fingerprint:
    description: SHA-256 fingerprint of the API's certificate (hex, colons allowed), instead of a CA.
    type: str
  api_validate_certs:
    description: Verify TLS at all (false is insecure, warned about).
    type: bool
    default: true
  api_timeout:
    description: Seconds one API request may take.
    type: int
    default: 10
  api_retries:
    description: How many more times a request that failed transiently is tried (1, 2, 4 s apart).
    type: int
    default: 1
  vms:
    description: The VMs mko starts on this host, one per mko node.
    type: list
    elements: dict
    default: []
    suboptions:
      node:
        description: The mko node (its hostname) that is this VM.
        type: str
        required: true
      proxmox_node:
        description: The Proxmox node that runs the VM; when missing, the VM's line says how to set it.
        type: str
      vmid:
        description: The VM id; when missing, the VM's line says how to set it.
        type: int
attributes:
  check_mode:
    support: full
    details: The module only reads; check mode runs it as it is.
"""

EXAMPLES = r"""
- name: Test Proxmox host pve1 and the VMs mko starts there
  mko.fleet.proxmox_check:
    proxmox_host: pve1
    api_url: https://pve1.lan:8006
    api_token_id: root@pam!mko
    api_token_secret: "{{ pve1_token_secret }}"
    api_ca_file: /etc/mko/pve-root-ca.pem
    vms:
      - {node: pi-vm1, proxmox_node: pve1, vmid: 101}
  no_log: true
"""

RETURN = r"""
report:
  description: What was found, as mko stores it.
  returned: always
  type: dict
  contains:
    host:
      description: O(proxmox_host), or the URL's host name.
      type: str
    url:
      description: The API's URL.
      type: str
    ok:
      description: The host answered with the token, and every VM's state could be read.
      type: bool
    version:
      description: Proxmox VE version, e.g. 8.2.4; null when the host could not be read.
      type: str
    release:
      description: Proxmox VE release, e.g. 8.2.
      type: str
    error:
      description: Why the host could not be read (unreachable, TLS, 401), null when it could.
      type: str
    vms:
      description: One per O(vms) entry, with C(node), C(proxmox_node), C(vmid), C(status) (running or stopped, or null) and C(error).
      type: list
      elements: dict
    summary:
      description: 'The report in one line, e.g. "pve1: ok, Proxmox VE 8.2.4; vm 101 (node pi-vm1): running".'
      type: str
mko_retries:
  description: The API calls that failed and were tried again (attempt, of, message); the
    mko.fleet.history callback records each as a retry event of the step.
  returned: when the host was reached
  type: list
  elements: dict
msg:
  description: The summary line.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mko.fleet.plugins.module_utils.wake_lib import WakeError, ProxmoxApi, check_host


def main():
    module = AnsibleModule(
        argument_spec={
            'proxmox_host': {'type': 'str'},
            'api_url': {'type': 'str', 'required': True},
            'api_token_id': {'type': 'str', 'required': True},
            'api_token_secret': {'type': 'str', 'required': True, 'no_log': True},
            'api_ca_file': {'type': 'path'},
            'api_fingerprint': {'type': 'str'},
            'api_validate_certs': {'type': 'bool', 'default': True},
            'api_timeout': {'type': 'int', 'default': 10},
            'api_retries': {'type': 'int', 'default': 1},
            'vms': {
                'type': 'list',
                'elements': 'dict',
                'default': [],
                'options': {
                    'node': {'type': 'str', 'required': True},
                    'proxmox_node': {'type': 'str'},
                    'vmid': {'type': 'int'},
                },
            },
        },
        mutually_exclusive=[('api_ca_file', 'api_fingerprint')],
        supports_check_mode=True,
    )
    p = module.params
    if p['api_timeout'] < 1 or p['api_retries'] < 0:
        module.fail_json(msg='api_timeout must be 1 or more seconds, api_retries 0 or more')
    try:
        api = ProxmoxApi(p['api_url'], p['api_token_id'], p['api_token_secret'], name=p['proxmox_host'], ca_file=p['api_ca_file'],
                         fingerprint=p['api_fingerprint'], validate_certs=p['api_validate_certs'], timeout=p['api_timeout'],
                         retries=p['api_retries'])
    except WakeError as error:
        module.fail_json(msg=str(error), report=None)
    if not p['api_validate_certs'] and not p['api_fingerprint']:
        module.warn('TLS verification is OFF for Proxmox %s: pin its CA with api_ca_file instead' % api.name)
    report = check_host(api, p['vms'])
    if report['ok']:
        module.exit_json(changed=False, report=report, msg=report['summary'], mko_retries=api.retried)
    module.fail_json(changed=False, report=report, msg=report['summary'], mko_retries=api.retried)


if __name__ == '__main__':
    main()
