# -*- coding: utf-8 -*-
# Copyright: mko contributors
# SPDX-License-Identifier: Apache-2.0
"""mko.fleet.diagnostics on the controller: run the node checks, time the run on the controller's
clock (the node's offset to it is what the cluster's clock-skew check compares), name the node by
its inventory name, and turn each fix into the exact command a user types."""

from __future__ import annotations

import shlex
import time

from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible_collections.mko.fleet.plugins.module_utils.diagnostics_checks import clock_offsets


def render_fix(fix, context):
    """{'on': 'node'|'controller', 'command'} -> one command line, or None."""
    if not fix:
        return None
    command = fix['command']
    for key, value in context.items():
        command = command.replace('{%s}' % key, shlex.quote(value) if value else '<%s>' % key)
    if fix['on'] == 'node':
        return 'ssh %s %s' % (shlex.quote(context['login']), shlex.quote(command))
    return command


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        sent = time.time()
        result.update(self._execute_module(module_name='mko.fleet.diagnostics', module_args=dict(self._task.args), task_vars=task_vars))
        received = time.time()
        if result.get('failed'):
            return result
        host = task_vars['inventory_hostname']
        address = to_text(self._templar.template(task_vars.get('ansible_host') or host))
        user = to_text(self._templar.template(task_vars.get('ansible_user') or 'root'))
        context = {
            'host': host,
            'cluster': to_text(task_vars.get('mko_cluster_name') or ''),
            'login': '%s@%s' % (user, address),
        }
        checks = []
        for check in result.get('checks', []):
            check = dict(check)
            if check['scope'] == 'node':
                check['subject'] = host
            check['fix'] = render_fix(check.get('fix'), context)
            checks.append(check)
        offset, uncertainty = clock_offsets(result['node_time'], sent, received)
        result.update(checks=checks, clock={'offset': offset, 'uncertainty': uncertainty}, changed=False)
        return result
