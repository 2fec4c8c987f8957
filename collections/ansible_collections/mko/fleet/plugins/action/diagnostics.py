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
        login = context['login']
        # A fix that asks for a password (sudo) needs a terminal on the node.
        if fix.get('tty') and login.startswith('ssh '):
            login = 'ssh -t ' + login[len('ssh '):]
        return '%s %s' % (login, shlex.quote(command))
    return command


def ssh_login(task_vars, templar, host):
    """The ssh command line that reaches the node as Ansible does: its options, key, port, user."""
    def var(name, default=''):
        return to_text(templar.template(task_vars.get(name) or default))
    words = ['ssh'] + shlex.split(var('ansible_ssh_common_args'))
    if var('ansible_ssh_private_key_file'):
        words += ['-i', var('ansible_ssh_private_key_file')]
    if var('ansible_port', '22') not in ('', '22'):
        words += ['-p', var('ansible_port')]
    words.append('%s@%s' % (var('ansible_user', 'root'), var('ansible_host', host)))
    return ' '.join(shlex.quote(w) for w in words)


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
        context = {
            'host': host,
            'cluster': to_text(task_vars.get('mko_cluster_name') or ''),
            'login': ssh_login(task_vars, self._templar, host),
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
