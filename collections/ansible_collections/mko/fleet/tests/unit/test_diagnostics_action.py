# Copyright: mko contributors
# SPDX-License-Identifier: Apache-2.0
"""Tests of the controller side of mko doctor (plugins/action/diagnostics*.py): the checks that need
every member at once, from forced node results, and how a fix becomes the command a user types.
Needs ansible-core on the Python path (Debian's ansible package has it).

    python3 -m unittest discover -s collections/ansible_collections/mko/fleet/tests/unit -v
"""

import os
import shlex
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'plugins', 'action'))
sys.path.insert(0, os.path.join(HERE, '..', '..', '..', '..', '..'))
import diagnostics  # noqa: E402 - the file itself, not through an installed collection
import diagnostics_report  # noqa: E402
from ansible_collections.mko.fleet.plugins.module_utils import diagnostics_checks as dc  # noqa: E402

THRESHOLDS = {'clock_warn': 1, 'clock_fail': 30}


def member(host, address, offset=0.0, listed=(), up=(), role='control-plane', nut=None, ups=''):
    return {
        'host': host, 'address': address, 'role': role, 'ha': True, 'ups': ups,
        'node': {
            'voters': {'installed': True, 'listed': list(listed), 'up': list(up), 'error': ''},
            'clock': {'offset': offset, 'uncertainty': 0.05},
            'nut': nut or {'mode': 'none', 'clients': None},
        },
    }


VOTERS = ['10.0.0.1:19001', '10.0.0.2:19001', '10.0.0.3:19001']


class ClusterChecksTest(unittest.TestCase):
    def by_id(self, checks):
        return dict((c['id'], c) for c in checks)

    def test_a_voter_seen_by_nobody_is_down_and_a_skewed_node_fails(self):
        members = [
            member('a', '10.0.0.1', 0.0, VOTERS, VOTERS[:2]),
            member('b', '10.0.0.2', 45.0, VOTERS, VOTERS[:2]),
        ]
        checks = self.by_id(diagnostics_report.cluster_checks('home', members, THRESHOLDS))
        self.assertIn('quorum at risk', checks['dqlite.quorum']['summary'])
        self.assertEqual(checks['clock.skew']['status'], 'fail')
        self.assertNotIn('nut.upsmon_login', checks)

    def test_a_voter_one_node_can_reach_counts_as_up(self):
        members = [member('a', '10.0.0.1', listed=VOTERS, up=VOTERS[:2]), member('b', '10.0.0.2', listed=VOTERS, up=VOTERS[1:])]
        self.assertEqual(self.by_id(diagnostics_report.cluster_checks('home', members, THRESHOLDS))['dqlite.quorum']['status'], 'pass')

    def test_control_planes_that_list_no_voters_mean_quorum_is_lost(self):
        checks = self.by_id(diagnostics_report.cluster_checks('home', [member('a', '10.0.0.1')], THRESHOLDS))
        self.assertEqual(checks['dqlite.quorum']['status'], 'fail')
        self.assertEqual(checks['dqlite.quorum']['fix']['command'], 'mko cluster startup {cluster}')

    def test_workers_alone_have_no_quorum_check(self):
        checks = self.by_id(diagnostics_report.cluster_checks('home', [member('w', '10.0.0.9', role='worker')], THRESHOLDS))
        self.assertNotIn('dqlite.quorum', checks)

    def test_upsmon_logins_are_read_from_the_ups_host(self):
        members = [
            member('a', '10.0.0.1', nut={'mode': 'netserver', 'clients': ['127.0.0.1']}, ups='rack'),
            member('b', '10.0.0.2', nut={'mode': 'netclient', 'clients': None}),
        ]
        check = self.by_id(diagnostics_report.cluster_checks('home', members, THRESHOLDS))['nut.upsmon_login']
        self.assertEqual(check['status'], 'fail')
        self.assertIn('from b', check['summary'])
        self.assertEqual(check['fix']['command'], 'mko ups setup rack')

    def test_upsmon_logins_are_unknown_not_left_out_when_upsd_cannot_be_asked(self):
        # upsd stopped on the UPS host: upsc -c fails there (clients None), nut.services fails there.
        members = [
            member('a', '10.0.0.1', nut={'mode': 'netserver', 'clients': None}, ups='rack'),
            member('b', '10.0.0.2', nut={'mode': 'netclient', 'clients': None}),
        ]
        check = self.by_id(diagnostics_report.cluster_checks('home', members, THRESHOLDS))['nut.upsmon_login']
        self.assertEqual(check['status'], 'unknown')
        self.assertEqual(check['summary'], 'upsd on a could not be asked for its clients: the upsmon logins of a, b are not known')
        self.assertEqual(check['evidence'], 'upsc -c rack@127.0.0.1 failed on a')
        self.assertIsNone(check['fix'])
        # A cluster whose UPS host is elsewhere (no member serves it) has no login check of its own.
        only_clients = [member('b', '10.0.0.2', nut={'mode': 'netclient', 'clients': None})]
        self.assertNotIn('nut.upsmon_login', self.by_id(diagnostics_report.cluster_checks('home', only_clients, THRESHOLDS)))


class RenderFixTest(unittest.TestCase):
    def test_node_fixes_become_ssh_commands_and_placeholders_are_filled(self):
        context = {'host': 'pi1', 'cluster': 'home', 'login': 'ssh -i /k mko@10.0.0.1'}
        self.assertEqual(diagnostics.render_fix({'on': 'node', 'command': 'sudo iptables -P FORWARD ACCEPT'}, context),
                         "ssh -i /k mko@10.0.0.1 'sudo iptables -P FORWARD ACCEPT'")
        self.assertEqual(diagnostics.render_fix({'on': 'controller', 'command': 'mko cluster configure-hosts {cluster}'}, context),
                         'mko cluster configure-hosts home')
        self.assertEqual(diagnostics.render_fix({'on': 'controller', 'command': 'mko wol configure {host}'}, dict(context, host='')),
                         'mko wol configure <host>')
        self.assertIsNone(diagnostics.render_fix(None, context))

    def test_a_fix_that_asks_for_a_password_gets_a_terminal(self):
        context = {'host': 'pi1', 'cluster': 'home', 'login': 'ssh -i /k mko@10.0.0.1'}
        rendered = diagnostics.render_fix(dc.sudo_fix('mko'), context)
        self.assertTrue(rendered.startswith('ssh -t -i /k mko@10.0.0.1 '), rendered)
        # What the node's shell gets is the instructions' drop-in, checked by visudo first.
        self.assertEqual(shlex.split(rendered)[-1],
                         "f=$(mktemp) && echo 'mko ALL=(ALL:ALL) NOPASSWD: ALL' > \"$f\" && sudo visudo -cf \"$f\" && "
                         "sudo install -m 0440 -o root -g root \"$f\" /etc/sudoers.d/90-mko-mko; rm -f \"$f\"; sudo -n true")


class ResolveTest(unittest.TestCase):
    def test_a_member_may_have_an_ipv6_address(self):
        from ansible_collections.mko.fleet.plugins.modules import diagnostics as module
        self.assertEqual(module.resolve('::1'), ['::1'])
        self.assertEqual(module.resolve('127.0.0.1'), ['127.0.0.1'])
        self.assertEqual(module.resolve('no-such-host.invalid'), [])


if __name__ == '__main__':
    unittest.main()

