#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mko contributors
# SPDX-License-Identifier: Apache-2.0
"""Collect this node's hardware report (schema 1)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: hardware
short_description: Collect a node's hardware report (CPU, memory, disks, LVM/RAID, network, GPUs, thermal, volumes)
version_added: 0.2.0
author: mko contributors
description:
  - Reads the node's hardware into one report, schema 1 (the keys are listed in the README of
    the C(hardware) role). Read-only.
  - A tool or file that is missing, fails or takes longer than O(timeout) leaves its section
    empty (null or []); the module does not fail because of it.
  - Python 3.6 or later on the node, standard library only.
  - With O(report_dir), the action plugin also writes the report to
    C(<report_dir>/<inventory_hostname>.json) on the controller (file 0600, atomically;
    directory created 0700), with C(collected_at) set from the controller's clock. Writing the
    report is not a change to the node, so the task reports C(changed=false); it happens in check
    mode too.
options:
  timeout:
    description: Seconds one external command (docker, microk8s kubectl, lvm, nvidia-smi) may take.
    type: int
    default: 30
  report_dir:
    description: Absolute directory on the controller for the report. Handled by the action plugin.
    type: path
attributes:
  check_mode:
    support: full
  action:
    support: full
"""

EXAMPLES = r"""
- name: Collect the hardware and write the report on the controller
  mko.fleet.hardware:
    report_dir: /root/mko/data/hardware
"""

RETURN = r"""
report:
  description: The hardware report (schema 1).
  returned: always
  type: dict
report_path:
  description: Where the report was written on the controller.
  returned: when report_dir is set
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mko.fleet.plugins.module_utils.hardware_collect import collect


def main():
    module = AnsibleModule(
        argument_spec={
            'timeout': {'type': 'int', 'default': 30},
            # Used by the action plugin on the controller, which does not pass it on.
            'report_dir': {'type': 'path'},
        },
        supports_check_mode=True,
    )
    timeout = module.params['timeout']
    if timeout < 1:
        module.fail_json(msg='timeout must be 1 or more seconds, got %d' % timeout)
    module.exit_json(changed=False, report=collect(timeout))


if __name__ == '__main__':
    main()
