# Copyright: mko contributors
# SPDX-License-Identifier: Apache-2.0
"""Tests of the one redaction mko has (plugins/callback/history.py): the command line as stored,
and the blanking of values mko calls secret. The callback's recording is tested end to end with
real ansible-playbook runs (ts/ops/history-callback.test.ts, ts/ops/recorder.test.ts).

    python3 -m unittest discover -s collections/ansible_collections/mko/fleet/tests/unit -v
"""

import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'plugins', 'callback'))
import history  # noqa: E402 - the file itself, not through an installed collection

SECRET = 'hunter2-s3cret'
R = history.REDACTED


class RedactArgvTest(unittest.TestCase):
    def assert_no_secret(self, args):
        for arg in args:
            self.assertNotIn(SECRET, arg)

    def test_hides_secret_looking_key_value_extra_vars_and_keeps_the_rest(self):
        out = history.redact_argv(['ansible-playbook', '-e', 'nut_password=%s ups_name=rack' % SECRET, 'site.yml'])
        self.assertEqual(out, ['ansible-playbook', '-e', 'nut_password=%s ups_name=rack' % R, 'site.yml'])

    def test_hides_every_key_the_pattern_names(self):
        for key in ('admin_pass', 'api_secret', 'proxmox_token', 'ssh_key', 'db_pwd', 'cloud_credential', 'NUT_PASSWORD'):
            self.assertEqual(history.redact_argv(['--extra-vars', '%s=%s' % (key, SECRET)]), ['--extra-vars', '%s=%s' % (key, R)])
        self.assertEqual(history.redact_argv(['-e', 'cluster=home']), ['-e', 'cluster=home'])

    def test_hides_secrets_in_json_nested_lists_and_objects_under_a_secret_key(self):
        value = json.dumps({'nut': {'ups_password': SECRET, 'name': 'rack'}, 'api_tokens': [SECRET], 'proxmox_token': {'id': 'me'}, 'a': 1})
        out = history.redact_argv(['-e', value])
        self.assert_no_secret(out)
        self.assertEqual(json.loads(out[1]), {'nut': {'ups_password': R, 'name': 'rack'}, 'api_tokens': R, 'proxmox_token': R, 'a': 1})
        attached = history.redact_argv(['--extra-vars={"proxmox_token":"%s","a":1}' % SECRET])
        self.assertEqual(json.loads(attached[0][len('--extra-vars='):]), {'proxmox_token': R, 'a': 1})

    def test_hides_the_whole_of_a_quoted_value_and_unparseable_input(self):
        out = history.redact_argv(['-e', 'nut_password="%s more words" ups_name=rack' % SECRET])
        self.assert_no_secret(out)
        self.assertNotIn('more words', out[1])
        self.assertIn('ups_name=rack', out[1])
        self.assertEqual(history.redact_argv(['-e', 'nut_password="%s x' % SECRET]), ['-e', R])
        self.assertEqual(history.redact_argv(['-e', '{"nut_password": "%s"' % SECRET]), ['-e', R])

    def test_hides_password_files_in_every_spelling(self):
        self.assertEqual(history.redact_argv(['--vault-password-file', 'f', 'site.yml']), ['--vault-password-file', R, 'site.yml'])
        self.assertEqual(history.redact_argv(['--become-password-file', '/root/.pw']), ['--become-password-file', R])
        self.assertEqual(history.redact_argv(['--conn-pass-file=/root/.pw']), ['--conn-pass-file=' + R])
        self.assertEqual(history.redact_argv(['--vault-pass=/root/.vault']), ['--vault-pass=' + R])

    def test_hides_secrets_in_e_with_the_value_attached_or_bundled(self):
        for arg in ('-enut_password=%s' % SECRET, '-vvvenut_password=%s' % SECRET):
            out = history.redact_argv([arg])
            self.assert_no_secret(out)
            self.assertIn('nut_password=' + R, out[0])

    def test_keeps_vars_files_plain_options_and_a_trailing_e(self):
        args = ['-i', 'inventories/mko', '-e', '@vars.yml', '--extra-vars=@secrets.yml', '--limit', 'pi1', '--check', '--become', '-e']
        self.assertEqual(history.redact_argv(args), args)


class ReadSecretsTest(unittest.TestCase):
    def test_longest_first_and_too_short_values_left_out(self):
        with tempfile.TemporaryDirectory() as work:
            path = os.path.join(work, 'secrets.json')
            with open(path, 'w', encoding='utf-8') as handle:
                json.dump(['hunter2', SECRET, 'abc', '', 7], handle)
            self.assertEqual(history._read_secrets(path), [SECRET, 'hunter2'])  # pylint: disable=protected-access
        self.assertEqual(history._read_secrets(None), [])  # pylint: disable=protected-access

    def test_blanks_the_longer_of_two_overlapping_secrets_whole(self):
        recorder = history.CallbackModule()
        recorder._secrets = [SECRET, 'hunter2']  # pylint: disable=protected-access
        self.assertEqual(recorder._blank('pw=%s and hunter2' % SECRET), 'pw=%s and %s' % (R, R))  # pylint: disable=protected-access


if __name__ == '__main__':
    unittest.main()
