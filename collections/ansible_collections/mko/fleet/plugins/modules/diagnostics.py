#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mko contributors
# SPDX-License-Identifier: Apache-2.0
"""Run mko doctor's node checks on this node (read-only)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: diagnostics
short_description: Run mko doctor's checks on a node (read-only)
version_added: 0.3.0
author: mko contributors
description:
  - Reads the node (hostname, /etc/hosts resolution of the members, MicroK8s services, dqlite voters,
    certificates, disk and inodes, memory cgroup, iptables FORWARD policy, snap hold, NUT services and
    the UPS driver, Wake-on-LAN)
    and returns one check result per check, in the shape of mko's CheckResult, plus raw readings the
    cluster checks need (the node's clock, the dqlite voters and which answer).
  - Never changes anything; runs in check mode too. A tool that is missing gives status C(unknown).
  - The action plugin adds the clock offset to the controller and writes nothing; see
    M(mko.fleet.diagnostics_report).
options:
  members:
    description: Every member of the node's cluster, C({name, address}), to resolve here.
    type: list
    elements: dict
    default: []
  role:
    description: The node's MicroK8s role.
    type: str
    choices: [control-plane, worker]
    default: control-plane
  cheap_only:
    description: Skip the checks that are not cheap (certificates).
    type: bool
    default: false
  wol_wanted:
    description: Whether the node should wake on LAN.
    type: bool
    default: false
  address:
    description: The address the controller reaches the node at (finds the NIC for Wake-on-LAN).
    type: str
    default: ''
  ups:
    description: The UPS this node serves with upsd (name), to list upsd's logged-in clients and read its driver's status.
    type: str
    default: ''
  ups_port:
    description: upsd's port on this node.
    type: int
    default: 3493
  disk_paths:
    description: Paths whose filesystems are checked for space and inodes (missing ones are skipped).
    type: list
    elements: str
    default: [/, /var/snap/microk8s/common]
  disk_warn_percent:
    description: Free space below this percentage warns.
    type: float
    default: 15
  disk_fail_percent:
    description: Free space below this percentage fails.
    type: float
    default: 5
  inode_warn_percent:
    description: Free inodes below this percentage warn.
    type: float
    default: 15
  inode_fail_percent:
    description: Free inodes below this percentage fail.
    type: float
    default: 5
  cert_warn_days:
    description: A certificate expiring within this many days warns.
    type: int
    default: 30
  cert_fail_days:
    description: A certificate expiring within this many days (or expired) fails.
    type: int
    default: 7
  timeout:
    description: Seconds one external command may take.
    type: int
    default: 20
attributes:
  check_mode:
    support: full
"""

EXAMPLES = r"""
- name: Run the node checks
  mko.fleet.diagnostics:
    role: control-plane
    members: [{name: pi1, address: 192.168.1.10}]
"""

RETURN = r"""
checks:
  description: The node's check results (fix as {on, command}).
  returned: always
  type: list
  elements: dict
node_time:
  description: The node's clock (seconds since the epoch) when the module ran.
  returned: always
  type: float
voters:
  description: dqlite voters this control-plane node lists, and which of them answer on their dqlite port.
  returned: always
  type: dict
nut:
  description: NUT mode and, on a upsd host, the addresses upsd lists as logged-in clients.
  returned: always
  type: dict
"""

import calendar
import glob
import os
import pwd
import re
import socket
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mko.fleet.plugins.module_utils import diagnostics_checks as dc
from ansible_collections.mko.fleet.plugins.module_utils.hardware_collect import read_text, run, which

CERTS_DIR = '/var/snap/microk8s/current/certs'
UNITS = {
    'control-plane': ['cluster-agent', 'containerd', 'kubelite', 'k8s-dqlite'],
    'worker': ['cluster-agent', 'containerd', 'kubelite', 'apiserver-proxy'],
}


def unit_states(names, timeout):
    out = {}
    for name in names:
        state = run(['systemctl', 'is-active', name], timeout=timeout)
        out[name] = (state or 'unknown').strip() or 'unknown'
    return out


def ups_status(upsc, ups, port, timeout):
    """(ups.status as upsd has it, or None; upsc's last error line, e.g. 'Error: Driver not connected')."""
    if upsc is None:
        return None, 'upsc is not installed'
    try:
        done = subprocess.run([upsc, '%s@127.0.0.1:%d' % (ups, port), 'ups.status'], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout, env=dict(os.environ, LC_ALL='C'), check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None, 'upsc did not answer within %d s' % timeout
    if done.returncode == 0 and done.stdout.strip():
        return done.stdout.strip(), ''
    lines = [line.strip() for line in (done.stderr or '').splitlines() if line.strip()]
    return None, lines[-1] if lines else 'upsc exit %d' % done.returncode


def resolve(name):
    """Every address `name` resolves to, IPv4 and IPv6 (a member may have either), without scope ids."""
    try:
        return sorted(set(info[4][0].split('%')[0] for info in socket.getaddrinfo(name, None, socket.AF_UNSPEC, socket.SOCK_STREAM)))
    except (socket.gaierror, UnicodeError):
        return []


def port_open(address, port, timeout=2.0):
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def read_certs(now):
    certs = []
    for path in sorted(glob.glob(os.path.join(CERTS_DIR, '*.crt'))):
        name = os.path.basename(path)
        try:
            with open(path) as handle:
                blocks = dc.pem_blocks(handle.read())
            if not blocks:
                raise ValueError('no PEM certificate')
            not_after = dc.der_not_after(blocks[0])
            stamp = time.strptime(not_after, '%Y%m%d%H%M%SZ')
            certs.append({'name': name, 'not_after': calendar.timegm(stamp)})
        except (OSError, ValueError, IndexError, UnicodeError) as error:
            certs.append({'name': name, 'not_after': None, 'error': str(error)[:80]})
    return certs


def mounts(paths):
    out = []
    seen = set()
    for path in paths:
        if not os.path.exists(path):
            continue
        st = os.statvfs(path)
        key = (st.f_fsid, os.stat(path).st_dev)
        if key in seen:
            continue
        seen.add(key)
        out.append({
            'path': path,
            'free_pct': 100.0 * st.f_bavail / st.f_blocks if st.f_blocks else None,
            'inodes_free_pct': 100.0 * st.f_favail / st.f_files if st.f_files else None,
        })
    return out


def nic_for(address, timeout):
    text = run(['ip', '-o', '-4', 'addr', 'show'], timeout=timeout) or ''
    for line in text.splitlines():
        m = re.match(r'^\d+:\s+(\S+)\s+inet\s+([0-9.]+)/', line)
        if m and m.group(2) == address:
            return m.group(1).split('@')[0]
    return None


def nut_mode():
    text = read_text('/etc/nut/nut.conf') or ''
    m = re.search(r'^\s*MODE\s*=\s*"?([a-z]+)"?', text, re.M)
    return m.group(1) if m else None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            members=dict(type='list', elements='dict', default=[]),
            role=dict(type='str', choices=['control-plane', 'worker'], default='control-plane'),
            cheap_only=dict(type='bool', default=False),
            wol_wanted=dict(type='bool', default=False),
            address=dict(type='str', default=''),
            ups=dict(type='str', default=''),
            ups_port=dict(type='int', default=3493),
            disk_paths=dict(type='list', elements='str', default=['/', '/var/snap/microk8s/common']),
            disk_warn_percent=dict(type='float', default=15),
            disk_fail_percent=dict(type='float', default=5),
            inode_warn_percent=dict(type='float', default=15),
            inode_fail_percent=dict(type='float', default=5),
            cert_warn_days=dict(type='int', default=30),
            cert_fail_days=dict(type='int', default=7),
            timeout=dict(type='int', default=20),
        ),
        supports_check_mode=True,
    )
    p = module.params
    timeout = p['timeout']
    host = socket.gethostname()
    node_time = time.time()
    checks = []

    checks.append(dc.result('ssh.sudo', 'node', host, 'critical', 'pass', 'SSH login and sudo work',
                            'uid %d' % os.geteuid()) if os.geteuid() == 0 else
                  dc.result('ssh.sudo', 'node', host, 'critical', 'fail', 'commands do not run as root', 'uid %d' % os.geteuid(),
                            dc.sudo_fix(pwd.getpwuid(os.geteuid()).pw_name)))
    checks.append(dc.hostname_check(host, host))

    resolved = [{'name': m['name'], 'address': m['address'], 'got': resolve(m['name'])} for m in p['members']]
    checks.append(dc.hosts_check(host, resolved))

    installed = os.path.exists(dc.MICROK8S)
    units = unit_states(['snap.microk8s.daemon-%s' % u for u in UNITS[p['role']]], timeout) if installed else {}
    checks.append(dc.services_check(host, installed, p['role'], units))

    voters = {'listed': [], 'up': [], 'error': '', 'installed': installed}
    if installed and p['role'] == 'control-plane':
        status = run([dc.MICROK8S, 'status', '--format', 'yaml'], timeout=timeout)
        if status is None:
            voters['error'] = 'microk8s status did not answer'
        else:
            listed = [n['address'] for n in dc.parse_status_nodes(status) if n.get('role') == 'voter']
            voters['listed'] = listed
            for address in listed:
                ip, _, port = address.rpartition(':')
                if port.isdigit() and port_open(ip.strip('[]'), int(port)):
                    voters['up'].append(address)

    if not p['cheap_only']:
        checks.append(dc.certs_check(host, read_certs(node_time) if installed else [], node_time, p['cert_warn_days'], p['cert_fail_days']))

    checks.extend(dc.disk_checks(host, mounts(p['disk_paths']), p['disk_warn_percent'], p['disk_fail_percent'],
                                 p['inode_warn_percent'], p['inode_fail_percent']))

    v2 = read_text('/sys/fs/cgroup/cgroup.controllers')
    model = (read_text('/proc/device-tree/model') or '').strip('\x00\n ')
    cmdline = '/boot/firmware/cmdline.txt' if os.path.exists('/boot/firmware/cmdline.txt') else '/boot/cmdline.txt'
    checks.append(dc.cgroup_check(host, dc.memory_cgroup_enabled(read_text('/proc/cgroups'), v2), model, cmdline))

    iptables = which('iptables', ['/usr/sbin', '/sbin'])
    if iptables is None:
        checks.append(dc.iptables_check(host, None, 'iptables is not installed'))
    else:
        text = run([iptables, '-S', 'FORWARD'], timeout=timeout)
        checks.append(dc.iptables_check(host, dc.forward_policy(text), 'iptables -S FORWARD failed (no CAP_NET_ADMIN?)'))

    snap_list = run(['snap', 'list', 'microk8s'], timeout=timeout) if installed else None
    checks.append(dc.snap_hold_check(host, installed, snap_list))

    mode = nut_mode()
    nut_units = {}
    if mode in ('standalone', 'netserver'):
        nut_units = unit_states(['nut-server', 'nut-monitor'], timeout)
    elif mode == 'netclient':
        nut_units = unit_states(['nut-monitor'], timeout)
    checks.append(dc.nut_services_check(host, mode, nut_units))
    clients = None
    if p['ups'] and mode in ('standalone', 'netserver'):
        upsc = which('upsc', ['/usr/bin', '/bin'])
        text = run([upsc, '-c', '%s@127.0.0.1:%d' % (p['ups'], p['ups_port'])], timeout=timeout, must_succeed=True) if upsc else None
        clients = dc.parse_upsc_clients(text) if text is not None else None
        status, error = ups_status(upsc, p['ups'], p['ups_port'], timeout)
        unit = 'nut-driver@%s' % p['ups'] if os.path.exists('/lib/systemd/system/nut-driver@.service') else 'nut-driver'
        checks.append(dc.nut_driver_check(host, p['ups'], status, error, unit))

    nic = nic_for(p['address'], timeout) if p['wol_wanted'] and p['address'] else None
    ethtool = run([which('ethtool', ['/usr/sbin', '/sbin']), nic], timeout=timeout) if nic else None
    checks.append(dc.wol_check(host, p['wol_wanted'], nic, ethtool))

    module.exit_json(changed=False, checks=checks, node_time=node_time, voters=voters,
                     nut={'mode': mode, 'clients': clients})


if __name__ == '__main__':
    main()
