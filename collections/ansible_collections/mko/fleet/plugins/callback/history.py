# -*- coding: utf-8 -*-
# Copyright: mko contributors
# SPDX-License-Identifier: Apache-2.0
"""Record every ansible-playbook run, mko's and plain, in mko's operation history."""

from __future__ import annotations

DOCUMENTATION = r"""
name: history
type: notification
short_description: Record ansible-playbook runs in mko's operation history
version_added: 0.1.0
author: mko contributors
description:
  - The one recorder of every playbook run, started by mko or by hand. It writes the run to the
    C(operations) table of the mko fleet database and its progress to C(operation_events), so
    both kinds of run leave the same record and can be followed while they go on.
  - A plain C(ansible-playbook) run gets a new row with C(source=ansible). When
    C(MKO_OPERATION_ID) is set, mko started the run and made its row; the callback fills that
    row instead, and leaves the end of a run that stops before its recap (cancel, crash, a
    playbook that does not parse) to mko.
  - The row holds the command line with secrets redacted (the program as its base name), the
    working directory, the playbook, the target (the C(--limit) value, else the host pattern of
    the first play; mko's own target for mko runs), a plain-text log of task statuses, the
    per-host recap, each host's last failure (task, failed or unreachable, message, whether it
    was ignored), what the playbook reported with C(ansible.builtin.set_stats), the status and
    ansible-playbook's exit code with its meaning.
  - Events, one row each, numbered from 1 per run - C(play_start) (with the play's task count),
    C(task_start) (task name, its position in the play), C(handler_start), C(host_result)
    (ok, changed, failed, unreachable, skipped, or ignored for a failure the task ignores, with
    the failure's message), C(retry) (an C(until)/C(retries) attempt that failed, with the
    attempt number) and C(recap) (the run's status).
  - Log and events are written at most 0.2 s after they happen, so readers that poll the database
    see a run live and a crash leaves what was seen. A plain run that ends before its recap
    (Ctrl-C, crash) is marked C(interrupted).
  - The callback never creates the database. If it is missing or older than schema version 8, or
    any database error occurs, it shows one warning and the playbook carries on unrecorded.
requirements:
  - An mko fleet database at schema version 8 or later (any mko command upgrades it).
options:
  db:
    description:
      - Path of the mko fleet database.
      - When unset, C(data/mko.db) in the project that holds this collection (the directory
        with mko's C(ansible.cfg)).
    type: path
    env:
      - name: MKO_DB
notes:
  - Enable with C(callbacks_enabled = mko.fleet.history) in C(ansible.cfg).
  - Extra-vars whose key contains C(pass), C(secret), C(token), C(key), C(pwd) or C(credential), and the values
    of C(--vault-password-file), C(--become-password-file) and C(--connection-password-file),
    are stored as C(<redacted>). C(@file) extra-vars are stored as given.
  - Values mko knows are secret (NUT passwords, Proxmox tokens, SecureOn passwords) reach the
    callback in a 0600 JSON file named by C(MKO_SECRETS_FILE), never in the environment or on the
    command line; each of 4 characters or more is replaced by C(<redacted>) wherever it would be
    stored (log, messages, arguments, set_stats data).
  - Results of C(no_log) tasks are never stored; failures store only their C(msg).
"""

import atexit
import datetime
import json
import os
import pathlib
import re
import shlex
import sqlite3
import sys
import threading
import time

from ansible import constants as C
from ansible import context
from ansible.playbook.block import Block
from ansible.plugins.callback import CallbackBase

# plugins/callback/history.py -> callback, plugins, fleet, mko, ansible_collections, collections
PROJECT_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), *([os.pardir] * 6)))

REDACTED = '<redacted>'
# The one redaction of mko: every run, mko's and plain, is recorded here.
SECRET_KEY = re.compile(r'pass|secret|token|key|pwd|credential', re.IGNORECASE)
# ansible-playbook's own exit codes for a run that reached its recap.
EXIT_OK = 0
EXIT_FAILED = 2
EXIT_UNREACHABLE = 4
EXIT_MEANINGS = {
    EXIT_OK: 'ok',
    EXIT_FAILED: 'one or more hosts failed',
    EXIT_UNREACHABLE: 'one or more hosts unreachable',
}
INTERRUPTED_MEANING = 'ansible-playbook ended before its recap (interrupted)'
NO_LOG_MARK = '(output hidden by no_log)'
# Readers follow a run by polling the database (mko's progress line, `mko operation follow`):
# what was seen is written at most this long after.
FLUSH_INTERVAL = 0.2
# Shorter values mko calls secret are not blanked: they would blank ordinary words.
MIN_SECRET = 4
# operation_events and the failures, results, cwd and retry_of columns (ts/db/migrations/0008).
SCHEMA_VERSION = 8
MAX_MESSAGE = 2000
BANNER_WIDTH = 79

# Long options whose value is a secret file path, and the extra-vars option. argparse accepts
# any unambiguous prefix (--vault-password=..., --extra=...), so prefixes count too, except
# where the prefix is itself a complete, harmless option.
_EXTRA_VARS_OPTIONS = ('--extra-vars',)
_SECRET_FILE_OPTIONS = (
    '--vault-password-file', '--vault-pass-file',
    '--become-password-file', '--become-pass-file',
    '--connection-password-file', '--conn-pass-file',
)
_HARMLESS_PREFIXES = ('--become', '--connection')
# Short flags that take no value and may be bundled in front of -e (e.g. -vvve).
_BUNDLE_WITH_E = re.compile(r'^-[vbkKCDJ]*e(.*)$', re.DOTALL)
_KEY_VALUE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*=', re.DOTALL)


def utc_now():
    """ISO 8601 UTC with milliseconds, like SQLite's strftime('%Y-%m-%dT%H:%M:%fZ', 'now')."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (now.microsecond // 1000)


def process_start(pid):
    """'<boot id>:<start in clock ticks>' as mko's ts/ops/process-identity.ts writes it, or None."""
    try:
        with open('/proc/sys/kernel/random/boot_id', encoding='ascii') as handle:
            boot = handle.read().strip()
        with open('/proc/%d/stat' % pid, encoding='utf-8', errors='replace') as handle:
            stat = handle.read()
    except OSError:
        return None
    # Field 2 (the command, in parentheses) may hold spaces; field 22 is the 20th after it.
    fields = stat[stat.rfind(')') + 2:].split(' ')
    ticks = fields[19] if len(fields) > 19 else ''
    return '%s:%s' % (boot, ticks) if ticks.isdigit() else None


def _redact_structure(data):
    if isinstance(data, dict):
        return {k: (REDACTED if SECRET_KEY.search(str(k)) else _redact_structure(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [_redact_structure(v) for v in data]
    return data


def redact_extra_vars(value):
    """One -e value with the values of secret-looking keys replaced; @file references kept."""
    if value.startswith('@'):
        return value
    if value.lstrip().startswith(('{', '[')):
        try:
            data = json.loads(value)
        except ValueError:
            # YAML flow syntax: not parsed here, so all or nothing.
            return REDACTED if SECRET_KEY.search(value) else value
        redacted = _redact_structure(data)
        return value if redacted == data else json.dumps(redacted)
    try:
        tokens = shlex.split(value)
    except ValueError:
        return REDACTED if SECRET_KEY.search(value) else value
    changed = False
    parts = []
    for token in tokens:
        key, sep, _ = token.partition('=')
        if sep and SECRET_KEY.search(key):
            parts.append(key + '=' + REDACTED)
            changed = True
        else:
            parts.append(shlex.quote(token))
    return ' '.join(parts) if changed else value


def _long_option_kind(name):
    """'extra' or 'secret' for a long option name (without '=value'), else None."""
    if name in _HARMLESS_PREFIXES:
        return None
    if len(name) > 2:
        if any(option.startswith(name) for option in _EXTRA_VARS_OPTIONS):
            return 'extra'
        if any(option.startswith(name) for option in _SECRET_FILE_OPTIONS):
            return 'secret'
    return None


def redact_argv(argv):
    """The command line as stored in operations.args, with secrets replaced by <redacted>."""
    out = []
    expecting = None
    for arg in argv:
        if expecting == 'extra':
            out.append(redact_extra_vars(arg))
            expecting = None
            continue
        if expecting == 'secret':
            out.append(REDACTED)
            expecting = None
            continue
        if arg.startswith('--'):
            name, sep, value = arg.partition('=')
            kind = _long_option_kind(name)
            if kind is None:
                out.append(arg)
            elif sep:
                out.append(name + '=' + (redact_extra_vars(value) if kind == 'extra' else REDACTED))
            else:
                out.append(arg)
                expecting = kind
            continue
        bundled = _BUNDLE_WITH_E.match(arg)
        if bundled:
            attached = bundled.group(1)
            if attached:
                out.append(arg[:len(arg) - len(attached)] + redact_extra_vars(attached))
            else:
                out.append(arg)
                expecting = 'extra'
            continue
        if _KEY_VALUE.match(arg) and SECRET_KEY.search(arg.partition('=')[0]):
            out.append(arg.partition('=')[0] + '=' + REDACTED)
            continue
        out.append(arg)
    return out


def _is_censored(result):
    no_log = getattr(result._task, 'no_log', False)
    return (isinstance(no_log, bool) and no_log) or 'censored' in result._result or bool(result._result.get('_ansible_no_log'))


def _short(value):
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    text = text.strip()
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + '...'


def _banner(title):
    return '\n%s %s' % (title, '*' * max(3, BANNER_WIDTH - len(title)))


def _count_tasks(blocks):
    """Tasks of a play that will announce themselves (no meta tasks; rescue/always may not run)."""
    count = 0
    for item in blocks:
        if isinstance(item, Block):
            count += _count_tasks(item.block)
        elif getattr(item, 'action', None) not in C._ACTION_META:
            count += 1
    return count


def _read_secrets(path):
    """The values mko knows are secret, from the 0600 file it named in MKO_SECRETS_FILE."""
    if not path:
        return []
    with open(path, encoding='utf-8') as handle:
        values = json.load(handle)
    # Longest first, so a secret that contains a shorter one is not left half shown.
    return sorted((v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET), key=len, reverse=True)


class CallbackModule(CallbackBase):
    """Keeps one operations row per ansible-playbook run up to date, with its events."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'notification'
    CALLBACK_NAME = 'mko.fleet.history'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display=display)
        self._pid = os.getpid()
        self._conn = None
        self._operation_id = None
        # Set when mko started the run: it made the row, and records what happens before and after.
        self._attached = bool(os.environ.get('MKO_OPERATION_ID'))
        self._db_path = None
        self._given_up = False
        self._finished = False
        self._target_from_limit = False
        self._plays_seen = 0
        self._playbooks_seen = 0
        self._lines = []
        self._events = []
        self._seq = 0
        self._log_started = False
        self._failures = {}
        self._secrets = []
        self._play = None
        self._task = None
        self._task_index = 0
        self._task_count = None
        self._dirty = False
        self._last_flush = 0.0
        self._timer = None
        # The timer thread flushes too; the connection is shared under this lock.
        self._lock = threading.RLock()

    # --- database ------------------------------------------------------------------------------

    def _database_path(self):
        try:
            configured = self.get_option('db')
        except KeyError:
            configured = None
        return configured or os.environ.get('MKO_DB') or os.path.join(PROJECT_ROOT, 'data', 'mko.db')

    def _give_up(self, message):
        """Show one warning, then stay silent and out of the way for the rest of the run."""
        with self._lock:
            if self._given_up:
                return
            self._given_up = True
            self._cancel_timer()
            if self._conn is not None:
                try:
                    self._conn.close()
                except sqlite3.Error:
                    pass
                self._conn = None
        self._display.warning('mko history: run not recorded: %s' % message)

    def _connect(self, path):
        if not os.path.exists(path):
            self._give_up('no database at %s' % path)
            return None
        # mode=rw: never create the database, even if it vanishes after the check above.
        uri = pathlib.Path(os.path.abspath(path)).as_uri() + '?mode=rw'
        # As long as mko's own wait (BUSY_TIMEOUT_MS in ts/db/open.ts).
        conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            conn.execute('PRAGMA busy_timeout = 30000')
            conn.execute('PRAGMA foreign_keys = ON')
            # The database is in WAL mode (mko sets it): NORMAL stays consistent and spares an
            # fsync per flush.
            conn.execute('PRAGMA synchronous = NORMAL')
            version = conn.execute('PRAGMA user_version').fetchone()[0]
        except BaseException:
            conn.close()
            raise
        if version < SCHEMA_VERSION:
            conn.close()
            self._give_up('%s has mko schema version %d, this callback needs %d: run any mko command (e.g. mko migrate) to upgrade it'
                          % (path, version, SCHEMA_VERSION))
            return None
        return conn

    def _guarded(self, action, *args):
        """Run a database step; any failure becomes the run's one warning, never an exception."""
        if self._given_up:
            return None
        try:
            with self._lock:
                return action(*args)
        except Exception as error:  # pylint: disable=broad-except
            self._give_up('cannot write to %s: %s' % (self._db_path, error))
            return None

    def _stored_argv(self):
        argv = [os.path.basename(sys.argv[0])] + sys.argv[1:] if sys.argv else []
        run_dir = os.environ.get('MKO_RUN_DIR')
        if self._attached and run_dir:
            # mko's private run folder is new each run: the same placeholder for every one.
            argv = [arg.replace(run_dir, '$TMP') for arg in argv]
        return [self._blank(arg) for arg in redact_argv(argv)]

    def _start_run(self, playbook_path):
        self._secrets = _read_secrets(os.environ.get('MKO_SECRETS_FILE'))
        self._db_path = self._database_path()
        self._conn = self._connect(self._db_path)
        if self._conn is None:
            return
        limit = context.CLIARGS.get('subset') or ''
        self._target_from_limit = bool(limit)
        args = json.dumps(self._stored_argv())
        playbook = self._relative(playbook_path)
        if self._attached:
            operation_id = int(os.environ['MKO_OPERATION_ID'])
            attached = self._conn.execute(
                "UPDATE operations SET playbook = ?, args = ?, cwd = ? WHERE id = ? AND status = 'running'",
                (playbook, args, os.getcwd(), operation_id),
            )
            if attached.rowcount != 1:
                self._give_up('operation %d is not a running operation in %s' % (operation_id, self._db_path))
                return
            self._operation_id = operation_id
        else:
            cursor = self._conn.execute(
                'INSERT INTO operations (kind, source, status, playbook, args, target, pid, started_at, pid_start, cwd, retry_of)'
                " VALUES ('playbook', 'ansible', 'running', ?, ?, ?, ?, ?, ?, ?, ?)",
                (playbook, args, limit, os.getpid(), utc_now(), process_start(os.getpid()), os.getcwd(), None),
            )
            self._operation_id = cursor.lastrowid
        self._last_flush = time.monotonic()
        atexit.register(self._at_exit)

    def _set_target(self, target):
        self._conn.execute('UPDATE operations SET target = ? WHERE id = ?', (target, self._operation_id))

    def _pending_log(self):
        text = ''.join(line + '\n' for line in self._lines)
        if not self._log_started:
            text = text.lstrip('\n')
        return text

    def _flush(self):
        """Append the new log lines and events, in one transaction."""
        if self._conn is None or self._operation_id is None:
            return
        text = self._pending_log()
        self._conn.execute('BEGIN IMMEDIATE')
        try:
            if text:
                self._conn.execute("UPDATE operations SET log = log || ? WHERE id = ?", (text, self._operation_id))
            self._conn.executemany(
                'INSERT INTO operation_events (operation_id, seq, time, type, play, task, task_index, task_count, host, status, message, attempt)'
                ' VALUES (:operation_id, :seq, :time, :type, :play, :task, :task_index, :task_count, :host, :status, :message, :attempt)',
                self._events,
            )
            if self._failures:
                self._conn.execute('UPDATE operations SET failures = ? WHERE id = ?', (json.dumps(self._failures, sort_keys=True), self._operation_id))
            self._conn.execute('COMMIT')
        except BaseException:
            self._conn.execute('ROLLBACK')
            raise
        self._log_started = self._log_started or bool(text)
        self._lines = []
        self._events = []
        self._dirty = False
        self._last_flush = time.monotonic()

    def _finish(self, status, exit_code, exit_meaning, recap, results):
        if self._conn is None or self._operation_id is None or self._finished:
            return
        self._cancel_timer()
        self._flush()
        self._conn.execute(
            'UPDATE operations SET status = ?, exit_code = ?, exit_meaning = ?, finished_at = ?, recap = ?, results = ?'
            ' WHERE id = ?',
            (status, exit_code, exit_meaning, utc_now(), json.dumps(recap), json.dumps(results, sort_keys=True, default=str), self._operation_id),
        )
        self._finished = True
        self._conn.close()
        self._conn = None

    def _at_exit(self):
        # Forked workers inherit this handler; only the process that owns the row may finish it.
        if os.getpid() != self._pid or self._finished:
            return
        if self._attached:
            # mko tells a cancel from a crash and records the end itself: hand over what was seen.
            self._guarded(self._flush)
            return
        self._guarded(self._finish, 'interrupted', None, INTERRUPTED_MEANING, {}, {})

    def _relative(self, path):
        if not path:
            return None
        absolute = os.path.abspath(path)
        if absolute.startswith(PROJECT_ROOT + os.sep):
            return os.path.relpath(absolute, PROJECT_ROOT)
        return absolute

    # --- log and events ------------------------------------------------------------------------

    @property
    def _recording(self):
        return self._operation_id is not None and not self._finished and not self._given_up

    def _blank(self, text):
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def _changed(self):
        with self._lock:
            self._dirty = True
            wait = FLUSH_INTERVAL - (time.monotonic() - self._last_flush)
            if wait <= 0:
                self._cancel_timer()
                self._guarded(self._flush)
            elif self._timer is None:
                # Trailing flush, so what was seen just before a long task is not held back.
                self._timer = threading.Timer(wait, self._timed_flush)
                self._timer.daemon = True
                self._timer.start()

    def _log(self, line):
        if not self._recording:
            return
        with self._lock:
            self._lines.append(self._blank(line))
        self._changed()

    def _event(self, kind, host=None, status=None, message=None, attempt=None, task=True):
        if not self._recording:
            return
        with self._lock:
            self._seq += 1
            self._events.append({
                'operation_id': self._operation_id, 'seq': self._seq, 'time': utc_now(), 'type': kind,
                'play': self._play,
                'task': self._task if task else None,
                'task_index': self._task_index if task and self._task_index and kind != 'handler_start' else None,
                'task_count': self._task_count if task else None,
                'host': host, 'status': status,
                'message': None if message is None else self._blank(_short(message)),
                'attempt': attempt,
            })
        self._changed()

    def _timed_flush(self):
        with self._lock:
            if self._timer is threading.current_thread():
                self._timer = None
            if self._dirty and self._recording:
                self._guarded(self._flush)

    def _cancel_timer(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _message(self, result):
        if _is_censored(result):
            return NO_LOG_MARK
        message = result._result.get('msg')
        return None if message in (None, '') else _short(message)

    def _status_line(self, status, result, outcome='', item=False, with_message=False):
        """`ok: [host]`, `fatal: [host]: FAILED! => msg`; never more than the msg of a failure."""
        line = '%s: [%s]%s' % (status, self.host_label(result), outcome)
        if _is_censored(result):
            self._log(line + ' ' + NO_LOG_MARK)
            return
        if item:
            label = result._result.get('_ansible_item_label', result._result.get('item'))
            # As the default callback: `ok: [h] => (item=x)` but `failed: [h] (item=x) => msg`.
            line += '%s(item=%s)' % (' ' if with_message else ' => ', _short(label))
        message = self._message(result) if with_message else None
        if message is not None:
            line += ' => %s' % message
        self._log(line)

    def _host_result(self, result, status, ignored=False):
        host = result._host.get_name()
        # A module that retries inside itself (mko.fleet.wake's Proxmox calls) lists its failed
        # attempts as mko_retries: the same retry events as an until loop's.
        for retry in result._result.get('mko_retries') or []:
            if isinstance(retry, dict):
                self._event('retry', host=host, status='retrying', attempt=retry.get('attempt'),
                            message='attempt %s of %s failed: %s' % (retry.get('attempt'), retry.get('of'), retry.get('message')))
        message = self._message(result) if status in ('failed', 'unreachable') else None
        self._event('host_result', host=host, status='ignored' if ignored else status, message=message)
        if status in ('failed', 'unreachable') and self._recording:
            known = self._failures.get(host)
            if known is None or known['ignored'] or not ignored:
                self._failures[host] = {'task': self._task, 'status': status, 'message': self._blank(message or ''), 'ignored': ignored}

    # --- callbacks -----------------------------------------------------------------------------

    def v2_playbook_on_start(self, playbook):
        self._playbooks_seen += 1
        if self._playbooks_seen == 1:
            self._guarded(self._start_run, getattr(playbook, '_file_name', None))
        else:
            self._log(_banner('PLAYBOOK: %s' % self._relative(getattr(playbook, '_file_name', ''))))

    def v2_playbook_on_play_start(self, play):
        if not self._recording:
            return
        self._plays_seen += 1
        name = play.get_name().strip()
        self._play = name
        self._task = None
        self._task_index = 0
        try:
            self._task_count = _count_tasks(play.compile())
        except Exception:  # pylint: disable=broad-except
            self._task_count = None
        self._log(_banner('PLAY [%s]' % name if name else 'PLAY'))
        self._event('play_start')
        if self._plays_seen == 1 and not self._target_from_limit and not self._attached:
            hosts = play.hosts if isinstance(play.hosts, (list, tuple)) else [play.hosts]
            self._guarded(self._set_target, ','.join(str(h) for h in hosts if h))

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task = task.get_name().strip()
        self._task_index += 1
        if self._task_count is not None and self._task_index > self._task_count:
            self._task_count = self._task_index
        self._log(_banner('TASK [%s]' % self._task))
        self._event('task_start')

    def v2_playbook_on_handler_task_start(self, task):
        self._task = task.get_name().strip()
        self._log(_banner('RUNNING HANDLER [%s]' % self._task))
        self._event('handler_start', task=True)

    def v2_playbook_on_no_hosts_matched(self):
        self._log('skipping: no hosts matched')

    def v2_playbook_on_no_hosts_remaining(self):
        self._log(_banner('NO MORE HOSTS LEFT'))

    def v2_playbook_on_include(self, included_file):
        hosts = ', '.join(h.name for h in included_file._hosts)
        self._log('included: %s for %s' % (self._relative(included_file._filename), hosts))

    def v2_on_file_diff(self, result):
        # As the default callback shows it (--diff): what a changed task changed in a file. Tasks
        # that handle secrets are no_log, and their results (diffs too) are never stored.
        if _is_censored(result):
            return
        if result._task.loop and 'results' in result._result:
            diffs = [r.get('diff') for r in result._result['results'] if r.get('diff') and r.get('changed', False) and not r.get('_ansible_no_log')]
        else:
            diffs = [result._result.get('diff')] if result._result.get('diff') and result._result.get('changed', False) else []
        for diff in diffs:
            text = self._get_diff(diff)
            if text.strip():
                self._log(text.rstrip('\n'))

    def v2_runner_on_ok(self, result):
        status = 'changed' if result._result.get('changed') else 'ok'
        if not (result._task.loop and 'results' in result._result):
            # A debug task is there to say something: its msg is part of the log, as on screen.
            says = result._task.action in ('debug', 'ansible.builtin.debug', 'ansible.legacy.debug')
            self._status_line(status, result, with_message=says)  # else each item had its own line
        self._host_result(result, status)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not (result._task.loop and 'results' in result._result):
            self._status_line('fatal', result, ': FAILED!', with_message=True)
        if ignore_errors:
            self._log('...ignoring')
        self._host_result(result, 'failed', ignored=bool(ignore_errors))

    def v2_runner_on_skipped(self, result):
        if not (result._task.loop and 'results' in result._result):
            self._status_line('skipping', result)
        self._host_result(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._status_line('fatal', result, ': UNREACHABLE!', with_message=True)
        ignored = bool(result._task.ignore_unreachable)
        if ignored:
            self._log('...ignoring')
        self._host_result(result, 'unreachable', ignored=ignored)

    def v2_runner_item_on_ok(self, result):
        self._status_line('changed' if result._result.get('changed') else 'ok', result, item=True)

    def v2_runner_item_on_failed(self, result):
        self._status_line('failed', result, item=True, with_message=True)

    def v2_runner_item_on_skipped(self, result):
        self._status_line('skipping', result, item=True)

    def v2_runner_retry(self, result):
        retries = result._result.get('retries', 0)
        attempt = result._result.get('attempts', 0)
        left = retries - attempt
        self._log('FAILED - RETRYING: [%s]: %s (%d retries left).' % (self.host_label(result), result.task_name, left))
        self._event('retry', host=result._host.get_name(), status='retrying', attempt=attempt,
                    message='attempt %d of %d failed, %d left' % (attempt, retries, left))

    def v2_playbook_on_stats(self, stats):
        if not self._recording:
            return
        recap = {}
        for host in sorted(stats.processed.keys()):
            summary = stats.summarize(host)
            recap[host] = {
                'ok': summary['ok'],
                'changed': summary['changed'],
                'unreachable': summary['unreachable'],
                'failed': summary['failures'],
                'skipped': summary['skipped'],
                'rescued': summary['rescued'],
                'ignored': summary['ignored'],
            }
        self._log(_banner('PLAY RECAP'))
        for host, counts in recap.items():
            self._log('%-26s : %s' % (host, ' '.join('%s=%d' % (k, v) for k, v in counts.items())))
        any_failed = any(c['failed'] for c in recap.values())
        any_unreachable = any(c['unreachable'] for c in recap.values())
        exit_code = EXIT_FAILED if any_failed else EXIT_UNREACHABLE if any_unreachable else EXIT_OK
        status = 'failed' if any_failed or any_unreachable else 'succeeded'
        self._task = None
        self._event('recap', status=status, message=EXIT_MEANINGS[exit_code], task=False)
        results = _redact_structure(stats.custom or {})
        self._guarded(self._finish, status, exit_code, EXIT_MEANINGS[exit_code], recap, json.loads(self._blank(json.dumps(results, default=str))))
