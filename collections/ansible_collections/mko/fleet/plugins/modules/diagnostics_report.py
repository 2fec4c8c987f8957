#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mko contributors
# SPDX-License-Identifier: Apache-2.0
"""Documentation of the action plugin mko.fleet.diagnostics_report: it runs on the controller only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: diagnostics_report
short_description: Add mko doctor's cluster checks and write each node's report on the controller
version_added: 0.3.0
author: mko contributors
description:
  - Runs once per play (C(run_once)), on the controller, as an action plugin. Reads every reached
    host's registered M(mko.fleet.diagnostics) result, adds the checks that need every member at once
    (C(dqlite.quorum), C(clock.skew), C(nut.upsmon_login)) to the report of each cluster's first
    reached host, and writes C(<report_dir>/<inventory_hostname>.json) for every reached host (0600,
    directory 0700).
  - Writing reports is no change to the nodes; C(changed=false), and it runs in check mode too.
options:
  report_dir:
    description: Absolute directory on the controller.
    type: path
    required: true
  var:
    description: The name the node results were registered under.
    type: str
    default: __diagnostics_node
  clock_skew_warn_seconds:
    description: Node clocks further apart than this warn.
    type: float
    default: 1
  clock_skew_fail_seconds:
    description: Node clocks further apart than this fail.
    type: float
    default: 30
attributes:
  check_mode:
    support: full
  action:
    support: full
"""

EXAMPLES = r"""
- name: Write every node's report
  mko.fleet.diagnostics_report:
    report_dir: /root/mko/data/doctor
  run_once: true
"""

RETURN = r"""
reports:
  description: Host name to the report file written.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(report_dir=dict(type='path', required=True), var=dict(type='str'),
                                              clock_skew_warn_seconds=dict(type='float'), clock_skew_fail_seconds=dict(type='float')))
    module.fail_json(msg='mko.fleet.diagnostics_report runs on the controller through its action plugin')


if __name__ == '__main__':
    main()
