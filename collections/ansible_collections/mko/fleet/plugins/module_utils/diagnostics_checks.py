# -*- coding: utf-8 -*-
# Copyright: mko contributors
# SPDX-License-Identifier: Apache-2.0
"""The checks of `mko doctor` as pure functions: a reading in, check results out (the shape of
ts/health/checks.ts CheckResult). The node module reads, these decide; the unit tests feed them
forced readings (a skewed clock, a DROP policy, an expiring certificate) the lab cannot produce.

A result's `fix` is a dict {'on': 'node'|'controller', 'command': ...} here; the action plugin turns
node commands into the exact `ssh user@address '...'` a user runs. Checks of severity critical are
the only ones that report `fail`; the others report `warn` at worst (mko doctor exits 2 on a
critical fail)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
import shlex

MICROK8S = '/snap/bin/microk8s'


def result(check_id, scope, subject, severity, status, summary, evidence='', fix=None, cheap=True):
    return {
        'id': check_id, 'scope': scope, 'subject': subject, 'severity': severity, 'status': status,
        'summary': summary, 'evidence': evidence, 'fix': fix if status != 'pass' else None, 'cheap': cheap,
    }


def on_node(command):
    return {'on': 'node', 'command': command}


def on_controller(command):
    return {'on': 'controller', 'command': command}


def sudo_fix(user):
    """Passwordless sudo for `user` again: the drop-in the node's set-up instructions install
    (/etc/sudoers.d/90-mko-<user>), checked by visudo first, over an ssh -t login so sudo can ask
    for the user's password once; it ends with `sudo -n true`, so it fails unless it worked."""
    line = '%s ALL=(ALL:ALL) NOPASSWD: ALL' % user
    command = ('f=$(mktemp) && echo %s > "$f" && sudo visudo -cf "$f" && '
               'sudo install -m 0440 -o root -g root "$f" /etc/sudoers.d/90-mko-%s; rm -f "$f"; sudo -n true') % (shlex.quote(line), user)
    return {'on': 'node', 'command': command, 'tty': True}


# ---------------------------------------------------------------- hostname

# Kubernetes node names are RFC 1123 subdomains: lower case letters, digits, '-' and '.', each label
# starting and ending with a letter or digit, 63 characters a label, 253 in all. MicroK8s registers
# the node under its hostname, so anything else (capitals, '_') makes kubelet fail to register.
_LABEL = re.compile(r'^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$')


def hostname_check(host, hostname):
    valid = len(hostname) <= 253 and all(_LABEL.match(label) for label in hostname.split('.'))
    if valid:
        return result('hostname.valid', 'node', host, 'critical', 'pass', 'hostname %s is a valid Kubernetes node name' % hostname, hostname)
    fixed = re.sub(r'[^a-z0-9.-]+', '-', hostname.lower()).strip('-.') or 'node'
    return result('hostname.valid', 'node', host, 'critical', 'fail',
                  'hostname %r is not a valid Kubernetes node name (lower case letters, digits, - and . only)' % hostname,
                  hostname, on_node('sudo hostnamectl set-hostname %s' % shlex.quote(fixed)))


# ---------------------------------------------------------------- /etc/hosts

def same_address(a, b):
    """Two spellings of one IP address (IPv6 has many: fd00:0::10 is fd00::10)."""
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


def hosts_check(host, resolved):
    """resolved: [{name, address, got: [addresses]}] for every member of the node's cluster."""
    wrong = [r for r in resolved if not any(same_address(r['address'], got) for got in r['got'])]
    evidence = '; '.join('%s -> %s' % (r['name'], ','.join(r['got']) or 'unresolved') for r in resolved)
    if not resolved:
        return result('hosts.resolve', 'node', host, 'critical', 'pass', 'no cluster members to resolve', '')
    if not wrong:
        return result('hosts.resolve', 'node', host, 'critical', 'pass', 'every member (%d) resolves to its address' % len(resolved), evidence)
    names = ', '.join('%s (want %s)' % (r['name'], r['address']) for r in wrong)
    return result('hosts.resolve', 'node', host, 'critical', 'fail',
                  '%d member(s) do not resolve to their address: %s' % (len(wrong), names), evidence,
                  on_controller('mko cluster configure-hosts {cluster}'))


# ---------------------------------------------------------------- MicroK8s services

def services_check(host, installed, role, units):
    """units: {unit name: active state} of the snap.microk8s.daemon-* units this role needs."""
    if not installed:
        return result('microk8s.services', 'node', host, 'critical', 'warn', 'MicroK8s is not installed',
                      'no %s' % MICROK8S, on_controller('mko cluster setup {cluster}'))
    down = sorted(u for u, state in units.items() if state != 'active')
    evidence = ', '.join('%s=%s' % (u.replace('snap.microk8s.daemon-', ''), units[u]) for u in sorted(units))
    if not down:
        return result('microk8s.services', 'node', host, 'critical', 'pass', 'every MicroK8s service of a %s is running' % role, evidence)
    start = 'sudo snap start microk8s' if role == 'worker' else 'sudo %s start' % MICROK8S
    return result('microk8s.services', 'node', host, 'critical', 'fail',
                  '%d MicroK8s service(s) not running: %s' % (len(down), ', '.join(down)), evidence, on_node(start))


# ---------------------------------------------------------------- dqlite

def parse_status_nodes(text):
    """`microk8s status --format yaml`'s high-availability nodes, without a YAML library:
    [{'address': 'ip:19001', 'role': 'voter'}, ...]."""
    nodes = []
    current = None
    in_nodes = False
    for line in text.splitlines():
        stripped = line.strip()
        if re.match(r'^\s*nodes:\s*(\[\])?\s*$', line):
            in_nodes = True
            continue
        if not in_nodes:
            continue
        if line and not line.startswith(' ') and not line.startswith('-'):
            break
        m = re.match(r'^-?\s*-?\s*(address|role):\s*(\S+)', stripped.lstrip('- '))
        if stripped.startswith('-'):
            current = {}
            nodes.append(current)
        if m and current is not None:
            current[m.group(1)] = m.group(2).strip('"\'')
    return [n for n in nodes if 'address' in n]


def quorum_check(cluster, voters, up, ha_wanted):
    """voters: addresses of dqlite voters; up: those whose dqlite port answered."""
    down = [v for v in voters if v not in up]
    evidence = 'voters: %s' % ', '.join('%s %s' % (v, 'up' if v in up else 'DOWN') for v in voters)
    if not voters:
        return result('dqlite.quorum', 'cluster', cluster, 'critical', 'unknown', 'no control-plane node reported its dqlite voters', '')
    majority = len(voters) // 2 + 1
    if len(up) < majority:
        return result('dqlite.quorum', 'cluster', cluster, 'critical', 'fail',
                      'quorum lost: %d of %d voters up, %d needed' % (len(up), len(voters), majority), evidence,
                      on_controller('mko cluster startup {cluster}'))
    if down:
        return result('dqlite.quorum', 'cluster', cluster, 'critical', 'fail',
                      'quorum at risk: voter(s) %s down, one more loss stops the cluster' % ', '.join(down) if len(up) == majority else
                      'voter(s) %s down' % ', '.join(down), evidence, on_controller('mko cluster startup {cluster}'))
    if ha_wanted and len(voters) < 3:
        return result('dqlite.quorum', 'cluster', cluster, 'critical', 'warn',
                      'HA wanted but only %d voter(s): one loss stops the cluster' % len(voters), evidence,
                      on_controller('mko cluster assign {cluster} <third node> && mko cluster setup {cluster}'))
    return result('dqlite.quorum', 'cluster', cluster, 'critical', 'pass', '%d of %d voters up' % (len(up), len(voters)), evidence)


# ---------------------------------------------------------------- certificates

def der_not_after(der):
    """notAfter of a DER X.509 certificate, as 'YYYYMMDDHHMMSSZ', read with a minimal ASN.1 walk
    (no openssl or cryptography on the node needed)."""
    def header(data, pos):
        tag = data[pos]
        length = data[pos + 1]
        pos += 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(data[pos:pos + count], 'big')
            pos += count
        return tag, pos, length

    _, pos, _ = header(der, 0)            # Certificate SEQUENCE
    _, pos, _ = header(der, pos)          # TBSCertificate SEQUENCE
    tag, body, length = header(der, pos)
    if tag == 0xA0:                       # [0] version
        pos = body + length
        tag, body, length = header(der, pos)
    pos = body + length                   # serialNumber
    for _ in range(2):                    # signature AlgorithmIdentifier, issuer
        _, body, length = header(der, pos)
        pos = body + length
    _, pos, _ = header(der, pos)          # validity SEQUENCE
    _, body, length = header(der, pos)    # notBefore
    pos = body + length
    tag, body, length = header(der, pos)  # notAfter: UTCTime (0x17) or GeneralizedTime (0x18)
    text = der[body:body + length].decode('ascii')
    if tag == 0x17:
        text = ('19' if int(text[:2]) >= 50 else '20') + text
    return text


def pem_blocks(text):
    import base64
    return [base64.b64decode(''.join(m.group(1).split()))
            for m in re.finditer(r'-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----', text, re.S)]


def certs_check(host, certs, now, warn_days, fail_days):
    """certs: [{'name': file, 'not_after': epoch seconds or None, 'error': str}]."""
    if not certs:
        return result('certs.expiry', 'node', host, 'critical', 'pass', 'no certificate under /var/snap/microk8s/current/certs', '', cheap=False)
    unreadable = [c for c in certs if c.get('not_after') is None]
    days = dict((c['name'], (c['not_after'] - now) / 86400.0) for c in certs if c.get('not_after') is not None)
    evidence = ', '.join('%s %dd' % (n, int(d)) for n, d in sorted(days.items(), key=lambda x: x[1]))
    if unreadable:
        evidence += '; unreadable: ' + ', '.join('%s (%s)' % (c['name'], c.get('error', '?')) for c in unreadable)
    soonest = sorted(days.items(), key=lambda x: x[1])
    failing = [n for n, d in soonest if d < fail_days]
    warning = [n for n, d in soonest if d < warn_days]
    refresh = ' && '.join('sudo %s refresh-certs --cert %s' % (MICROK8S, n) for n in (failing or warning))
    if failing:
        return result('certs.expiry', 'node', host, 'critical', 'fail',
                      '%s expire(s) within %d days' % (', '.join(failing), fail_days) if days[failing[0]] >= 0 else
                      '%s expired' % ', '.join(n for n in failing if days[n] < 0), evidence, on_node(refresh), cheap=False)
    if warning:
        return result('certs.expiry', 'node', host, 'critical', 'warn',
                      '%s expire(s) within %d days' % (', '.join(warning), warn_days), evidence, on_node(refresh), cheap=False)
    if unreadable:
        return result('certs.expiry', 'node', host, 'critical', 'unknown', 'certificate(s) could not be read', evidence, cheap=False)
    return result('certs.expiry', 'node', host, 'critical', 'pass',
                  'every certificate (%d) valid for %d days or more' % (len(days), int(soonest[0][1])), evidence, cheap=False)


# ---------------------------------------------------------------- clock

def clock_offsets(node_time, sent, received):
    """The node's clock minus the controller's, from a reading taken between the controller's
    `sent` and `received`: the midpoint estimate, and its uncertainty (half the round trip)."""
    return node_time - (sent + received) / 2.0, (received - sent) / 2.0


def clock_skew_check(cluster, offsets, warn_seconds, fail_seconds):
    """offsets: {host: (offset seconds, uncertainty)}. The skew between nodes is the spread of their
    offsets to the controller's clock; the uncertainty of the two ends is allowed for."""
    if len(offsets) < 2:
        only = ', '.join('%s %+.2fs' % (h, o) for h, (o, _) in sorted(offsets.items()))
        return result('clock.skew', 'cluster', cluster, 'critical', 'pass', 'one node: no skew between nodes', only)
    ordered = sorted(offsets.items(), key=lambda x: x[1][0])
    (low_host, (low, low_err)), (high_host, (high, high_err)) = ordered[0], ordered[-1]
    skew = max(0.0, (high - low) - (low_err + high_err))
    evidence = ', '.join('%s %+.2fs' % (h, o) for h, (o, _) in ordered) + ' (offsets to the controller)'
    summary = '%.1fs between %s and %s' % (skew, high_host, low_host)
    fix = on_controller("ansible {limit} -b -m ansible.builtin.command -a 'timedatectl set-ntp true'")
    if skew > fail_seconds:
        return result('clock.skew', 'cluster', cluster, 'critical', 'fail', 'clocks differ by ' + summary, evidence, fix)
    if skew > warn_seconds:
        return result('clock.skew', 'cluster', cluster, 'critical', 'warn', 'clocks differ by ' + summary, evidence, fix)
    return result('clock.skew', 'cluster', cluster, 'critical', 'pass', 'clocks agree within %.1fs' % max(skew, 0.0), evidence)


# ---------------------------------------------------------------- disk

def disk_checks(host, mounts, warn_pct, fail_pct, inode_warn_pct, inode_fail_pct):
    """mounts: [{'path', 'free_pct', 'inodes_free_pct', 'free_mb'}]."""
    out = []
    for check_id, key, warn, fail, what in (('disk.space', 'free_pct', warn_pct, fail_pct, 'space'),
                                            ('disk.inodes', 'inodes_free_pct', inode_warn_pct, inode_fail_pct, 'inodes')):
        rows = [m for m in mounts if m.get(key) is not None]
        evidence = ', '.join('%s %.0f%% free' % (m['path'], m[key]) for m in rows)
        worst = min(rows, key=lambda m: m[key]) if rows else None
        fix = on_node('sudo journalctl --vacuum-size=100M && sudo apt-get clean && sudo %s ctr images prune --all' % MICROK8S) if what == 'space' \
            else on_node('sudo find /var/snap/microk8s/common/var/lib/containerd /tmp -xdev -type f -atime +30 -delete')
        if worst is None:
            out.append(result(check_id, 'node', host, 'critical', 'unknown', 'no filesystem could be read', ''))
        elif worst[key] < fail:
            out.append(result(check_id, 'node', host, 'critical', 'fail', '%s has %.1f%% %s free (below %g%%)' % (worst['path'], worst[key], what, fail), evidence, fix))
        elif worst[key] < warn:
            out.append(result(check_id, 'node', host, 'critical', 'warn', '%s has %.1f%% %s free (below %g%%)' % (worst['path'], worst[key], what, warn), evidence, fix))
        else:
            out.append(result(check_id, 'node', host, 'critical', 'pass', 'at least %.0f%% %s free' % (worst[key], what), evidence))
    return out


# ---------------------------------------------------------------- memory cgroup

def memory_cgroup_enabled(proc_cgroups, cgroup2_controllers):
    """True when the memory controller is on: cgroup v1's /proc/cgroups 'memory ... enabled' column,
    or 'memory' in cgroup v2's cgroup.controllers."""
    if cgroup2_controllers is not None and 'memory' in cgroup2_controllers.split():
        return True
    for line in (proc_cgroups or '').splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[0] == 'memory':
            return fields[3] == '1'
    return False


def cgroup_check(host, enabled, model, cmdline_file):
    is_pi = 'raspberry pi' in (model or '').lower()
    evidence = 'memory controller %s%s' % ('enabled' if enabled else 'disabled', '; %s' % model if model else '')
    if enabled:
        return result('cgroup.memory', 'node', host, 'critical', 'pass', 'memory cgroup enabled', evidence)
    if is_pi:
        fix = on_node("sudo sed -i '1 s/$/ cgroup_enable=memory cgroup_memory=1/' %s && sudo reboot" % cmdline_file)
    else:
        fix = on_node("sudo sed -i 's/^GRUB_CMDLINE_LINUX=\"/&cgroup_enable=memory /' /etc/default/grub && sudo update-grub && sudo reboot")
    return result('cgroup.memory', 'node', host, 'critical', 'fail', 'memory cgroup disabled: kubelet cannot start', evidence, fix)


# ---------------------------------------------------------------- iptables

def forward_policy(iptables_s):
    """The FORWARD chain's policy from `iptables -S FORWARD` ('-P FORWARD DROP'), or None."""
    m = re.search(r'^-P FORWARD (\S+)', iptables_s or '', re.M)
    return m.group(1) if m else None


def iptables_check(host, policy, error):
    if policy is None:
        return result('iptables.forward', 'node', host, 'critical', 'unknown', 'FORWARD policy unknown', error or '')
    evidence = '-P FORWARD %s' % policy
    if policy == 'ACCEPT':
        return result('iptables.forward', 'node', host, 'critical', 'pass', 'FORWARD policy ACCEPT', evidence)
    return result('iptables.forward', 'node', host, 'critical', 'fail',
                  'FORWARD policy %s: pods on other nodes cannot be reached; the fix lasts until a reboot '
                  'unless iptables-persistent keeps it' % policy, evidence,
                  on_node('sudo iptables -P FORWARD ACCEPT'))


# ---------------------------------------------------------------- snap hold

def snap_hold_check(host, installed, snap_list):
    if not installed:
        return result('snap.hold', 'node', host, 'warning', 'pass', 'MicroK8s not installed: nothing to hold', '')
    row = next((line for line in (snap_list or '').splitlines() if line.split()[:1] == ['microk8s']), '')
    notes = row.split()[-1] if row else ''
    if 'held' in notes.split(','):
        return result('snap.hold', 'node', host, 'warning', 'pass', 'snap refreshes of microk8s are held', row)
    return result('snap.hold', 'node', host, 'warning', 'warn', 'microk8s may auto-refresh (and restart) at any time',
                  row or (snap_list or '').strip(), on_node('sudo snap refresh --hold=forever microk8s'))


# ---------------------------------------------------------------- NUT

def nut_services_check(host, mode, units):
    """mode: nut.conf MODE; units: {unit: active state} of the units that mode needs."""
    if mode in (None, '', 'none'):
        return result('nut.services', 'node', host, 'critical', 'pass', 'NUT not configured on this node', 'MODE=%s' % (mode or 'none'))
    down = sorted(u for u, s in units.items() if s != 'active')
    evidence = 'MODE=%s; ' % mode + ', '.join('%s=%s' % (u, s) for u, s in sorted(units.items()))
    if down:
        return result('nut.services', 'node', host, 'critical', 'fail', 'NUT service(s) not running: %s' % ', '.join(down), evidence,
                      on_node('sudo systemctl restart %s' % ' '.join(down)))
    return result('nut.services', 'node', host, 'critical', 'pass', 'NUT services running (%s)' % mode, evidence)


def nut_driver_check(host, ups, status, error, unit):
    """The UPS's driver as upsd sees it, on the UPS host: status is what `upsc <ups>@127.0.0.1
    ups.status` printed (None when it failed), error upsc's last error line; unit is the driver's
    systemd unit (nut-driver@<ups> from NUT 2.8, nut-driver before). A dead driver or one that lost
    its UPS (a USB cable) leaves upsd, upsmon and the watcher running blind."""
    evidence = 'upsc %s@127.0.0.1 ups.status: %s' % (ups, status if status else error or 'no answer')
    restart = on_node('sudo systemctl restart %s' % unit)
    if status:
        return result('nut.driver', 'node', host, 'critical', 'pass', 'the driver reads UPS %s (%s)' % (ups, status), evidence)
    said = (error or '').lower()
    if 'stale' in said:
        return result('nut.driver', 'node', host, 'critical', 'fail',
                      'the driver of %s has lost the UPS (data stale): check its cable, then restart the driver' % ups, evidence, restart)
    if 'driver not connected' in said:
        return result('nut.driver', 'node', host, 'critical', 'fail', 'the driver of %s is not running' % ups, evidence, restart)
    # upsd itself did not answer: nut.services of this host says why and how to start it.
    return result('nut.driver', 'node', host, 'critical', 'unknown', 'upsd could not be asked about %s' % ups, evidence)


def upsmon_login_check(cluster, expected, clients, ups, upsd_host=''):
    """expected: {host: [addresses it may log in from]} of the nodes whose upsmon should be logged
    in to upsd; clients: the addresses `upsc -c` lists (None: upsd could not be asked, e.g. it is
    stopped: nut.services of upsd_host says so and how to start it)."""
    if clients is None:
        return result('nut.upsmon_login', 'cluster', cluster, 'critical', 'unknown',
                      'upsd%s could not be asked for its clients: the upsmon logins of %s are not known' % (
                          ' on %s' % upsd_host if upsd_host else '', ', '.join(sorted(expected)) or 'no node'),
                      'upsc -c %s@127.0.0.1 failed%s' % (ups, ' on %s' % upsd_host if upsd_host else ''))
    missing = sorted(h for h, addresses in expected.items() if not set(addresses) & set(clients))
    evidence = '%s clients: %s' % (ups, ', '.join(clients) or 'none')
    if missing:
        return result('nut.upsmon_login', 'cluster', cluster, 'critical', 'fail',
                      'upsmon not logged in to upsd from %s' % ', '.join(missing), evidence,
                      on_controller('mko ups setup %s' % shlex.quote(ups)))
    return result('nut.upsmon_login', 'cluster', cluster, 'critical', 'pass', 'upsmon logged in from every NUT node (%d)' % len(expected), evidence)


def parse_upsc_clients(text):
    return [line.strip() for line in (text or '').splitlines() if line.strip() and not line.startswith('Error')]


# ---------------------------------------------------------------- Wake-on-LAN

def wol_check(host, wanted, nic, ethtool_text):
    if not wanted:
        return result('wol.state', 'node', host, 'warning', 'pass', 'Wake-on-LAN not wanted for this node', '')
    supports = re.search(r'^\s*Supports Wake-on:\s*(\S+)', ethtool_text or '', re.M)
    state = re.search(r'^\s*Wake-on:\s*(\S+)', ethtool_text or '', re.M)
    if not nic:
        return result('wol.state', 'node', host, 'warning', 'unknown', 'no NIC carries the node\'s address', '')
    if supports is None or 'g' not in supports.group(1):
        return result('wol.state', 'node', host, 'warning', 'warn', '%s does not support magic-packet wake' % nic,
                      'Supports Wake-on: %s' % (supports.group(1) if supports else 'not reported'))
    if state and 'g' in state.group(1):
        return result('wol.state', 'node', host, 'warning', 'pass', '%s wakes on magic packets' % nic, 'Wake-on: %s' % state.group(1))
    return result('wol.state', 'node', host, 'warning', 'warn', '%s will not wake on a magic packet' % nic,
                  'Wake-on: %s' % (state.group(1) if state else '?'), on_controller('mko wol configure {host}'))
