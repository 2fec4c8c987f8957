# -*- coding: utf-8 -*-
# Copyright: mko contributors
# SPDX-License-Identifier: Apache-2.0
"""mko.fleet.hardware on the controller: run the collector on the node, then write its report
here, in the worker's own process (no second module run on localhost per node)."""

from __future__ import annotations

import datetime
import json
import os
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible_collections.mko.fleet.plugins.module_utils.wake_nic import wake_nic


def write_report(report_dir, name, report):
    """Write <report_dir>/<name>.json, 0600, replacing any older one atomically."""
    os.makedirs(report_dir, mode=0o700, exist_ok=True)
    path = os.path.join(report_dir, name + '.json')
    fd, tmp = tempfile.mkstemp(prefix='.' + name + '.', suffix='.tmp', dir=report_dir)
    try:
        with os.fdopen(fd, 'w') as f:
            json.dump(report, f, indent=2, sort_keys=True)
            f.write('\n')
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('timeout', 'report_dir'))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        report_dir = args.pop('report_dir', None)
        if report_dir is not None:
            report_dir = os.path.expanduser(to_text(report_dir))
            if not os.path.isabs(report_dir):
                raise AnsibleActionFail('report_dir must be an absolute directory on the controller, got %r' % report_dir)
            if os.path.exists(report_dir) and not os.path.isdir(report_dir):
                raise AnsibleActionFail('report_dir %r exists and is not a directory' % report_dir)
        result.update(self._execute_module(module_name='mko.fleet.hardware', module_args=args, task_vars=task_vars))
        if result.get('failed'):
            return result
        # The NIC that wakes the node: the one carrying the address the controller reaches it at.
        address = self._templar.template(task_vars.get('ansible_host') or task_vars.get('inventory_hostname'))
        result['report'] = dict(result['report'], wake_nic=wake_nic(result['report'].get('network'), address))
        if report_dir is None:
            return result
        # The controller's clock: boards without a battery-backed clock (Raspberry Pis) can be far
        # off until NTP has synced.
        report = dict(result['report'])
        report['collected_at'] = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
        result['report'] = report
        result['report_path'] = write_report(report_dir, task_vars['inventory_hostname'], report)
        result['changed'] = False
        return result
