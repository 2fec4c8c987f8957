# Copyright: mko contributors
# SPDX-License-Identifier: Apache-2.0
"""Tests of the controller side of mko.fleet.hardware (plugins/action/hardware.py): how a report
is written. Needs ansible-core on the Python path (Debian's ansible package has it); the module
run itself is tested through playbooks/hardware.yml on the lab (molecule/hardware, ts/hardware).

    python3 -m unittest discover -s collections/ansible_collections/mko/fleet/tests/unit -v
"""

import json
import os
import stat
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'plugins', 'action'))
# The plugin imports the collection's module_utils by their full name.
sys.path.insert(0, os.path.join(HERE, '..', '..', '..', '..', '..'))
import hardware as action  # noqa: E402 - the file itself, not through an installed collection


class WriteReportTest(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.TemporaryDirectory()
        self.addCleanup(self.work.cleanup)
        self.dir = os.path.join(self.work.name, 'reports')

    def test_makes_a_private_directory_and_a_0600_file(self):
        path = action.write_report(self.dir, 'pi-1', {'schema': 1, 'hostname': 'pi-1'})
        self.assertEqual(path, os.path.join(self.dir, 'pi-1.json'))
        self.assertEqual(stat.S_IMODE(os.stat(self.dir).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path) as f:
            self.assertEqual(json.load(f), {'schema': 1, 'hostname': 'pi-1'})

    def test_replaces_the_older_report_and_leaves_no_temporary_file(self):
        action.write_report(self.dir, 'pi-1', {'schema': 1, 'n': 1})
        action.write_report(self.dir, 'pi-1', {'schema': 1, 'n': 2})
        self.assertEqual(os.listdir(self.dir), ['pi-1.json'])
        with open(os.path.join(self.dir, 'pi-1.json')) as f:
            self.assertEqual(json.load(f)['n'], 2)

    def test_a_report_that_cannot_be_written_leaves_the_old_one(self):
        action.write_report(self.dir, 'pi-1', {'schema': 1, 'n': 1})
        with self.assertRaises(TypeError):
            action.write_report(self.dir, 'pi-1', {'schema': 1, 'n': object()})
        self.assertEqual(os.listdir(self.dir), ['pi-1.json'])
        with open(os.path.join(self.dir, 'pi-1.json')) as f:
            self.assertEqual(json.load(f)['n'], 1)


if __name__ == '__main__':
    unittest.main()
