# -*- coding: utf-8 -*-
# Copyright: mko contributors
# SPDX-License-Identifier: Apache-2.0
"""mko.fleet.diagnostics_report, once per play on the controller: add the checks that need every
member at once (dqlite quorum, clock skew, upsmon logins) from the node checks registered as `var`,
and write one report per reached host to <report_dir>/<inventory_hostname>.json (0600, directory
0700). A cluster's checks go into the report of its first reached host. Writing reports is no
change to the nodes: changed=false, and it happens in check mode too."""

from __future__ import annotations

import datetime
import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible_collections.mko.fleet.plugins.action.hardware import write_report
from ansible_collections.mko.fleet.plugins.action.diagnostics import render_fix
from ansible_collections.mko.fleet.plugins.module_utils import diagnostics_checks as dc


def cluster_checks(cluster, members, thresholds):
    """members: [{host, role, address, ha, node (the registered node result)}] of one cluster."""
    checks = []
    control = [m for m in members if m['role'] == 'control-plane' and m['node']['voters'].get('installed')]
    if control:
        listed = next((m['node']['voters']['listed'] for m in control if m['node']['voters']['listed']), [])
        up = set()
        for m in control:
            up.update(m['node']['voters']['up'])
        if listed:
            checks.append(dc.quorum_check(cluster, listed, [v for v in listed if v in up], members[0]['ha']))
        else:
            checks.append(dc.result('dqlite.quorum', 'cluster', cluster, 'critical', 'fail',
                                    'no control-plane node lists its dqlite voters: quorum lost or MicroK8s stopped',
                                    '; '.join('%s: %s' % (m['host'], m['node']['voters'].get('error') or 'no voters') for m in control),
                                    dc.on_controller('mko cluster startup {cluster}')))
    offsets = dict((m['host'], (m['node']['clock']['offset'], m['node']['clock']['uncertainty'])) for m in members)
    checks.append(dc.clock_skew_check(cluster, offsets, thresholds['clock_warn'], thresholds['clock_fail']))
    # The member that serves its UPS with upsd (mko_ups, MODE netserver or standalone) is asked who is
    # logged in; when it could not answer (upsd stopped) the check is unknown, not left out.
    upsd = next((m for m in members if m['ups'] and m['node']['nut'].get('mode') in ('netserver', 'standalone')), None)
    if upsd is not None:
        expected = dict((m['host'], [m['address']] + (['127.0.0.1', '::1'] if m is upsd else []))
                        for m in members if m['node']['nut'].get('mode') in ('netclient', 'netserver', 'standalone'))
        checks.append(dc.upsmon_login_check(cluster, expected, upsd['node']['nut'].get('clients'), upsd['ups'], upsd['host']))
    return checks


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('report_dir', 'var', 'clock_skew_warn_seconds', 'clock_skew_fail_seconds'))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        report_dir = os.path.expanduser(to_text(args.get('report_dir') or ''))
        if not os.path.isabs(report_dir):
            raise AnsibleActionFail('report_dir must be an absolute directory on the controller, got %r' % report_dir)
        var = args.get('var', '__diagnostics_node')
        thresholds = {'clock_warn': float(args.get('clock_skew_warn_seconds', 1)), 'clock_fail': float(args.get('clock_skew_fail_seconds', 30))}
        hostvars = task_vars['hostvars']
        members = []
        for host in task_vars.get('ansible_play_hosts', []):
            hv = hostvars[host]
            node = hv.get(var)
            if not node or node.get('failed') or node.get('skipped') or node.get('unreachable'):
                continue
            mko_ups = hv.get('mko_ups') or {}
            members.append({
                'host': host,
                'cluster': to_text(hv.get('mko_cluster_name') or ''),
                'role': to_text(hv.get('mko_role') or 'control-plane'),
                'address': to_text(self._templar.template(hv.get('ansible_host') or host)),
                'user': to_text(self._templar.template(hv.get('ansible_user') or 'root')),
                'ha': bool(hv.get('mko_ha')),
                'ups': to_text(mko_ups.get('name') or ''),
                'node': node,
            })
        now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
        reports = dict((m['host'], [dc.result('ssh.reachable', 'node', m['host'], 'critical', 'pass', 'reached over SSH', '%s@%s' % (m['user'], m['address']))]
                                    + list(m['node']['checks'])) for m in members)
        clusters = {}
        for m in members:
            if m['cluster']:
                clusters.setdefault(m['cluster'], []).append(m)
        for cluster, group in clusters.items():
            limit = ','.join(m['host'] for m in group)
            for check in cluster_checks(cluster, group, thresholds):
                check['fix'] = render_fix(check['fix'], {'cluster': cluster, 'limit': limit, 'host': group[0]['host'], 'login': ''})
                reports[group[0]['host']].append(check)
        paths = {}
        for host, checks in reports.items():
            paths[host] = write_report(report_dir, host, {'host': host, 'checkedAt': now, 'checks': checks})
        result.update(changed=False, reports=paths)
        return result
