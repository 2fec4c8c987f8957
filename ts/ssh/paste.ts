/** Quote one word for POSIX sh. */
export function shQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * A bash program that runs pasted set-up lines the way an operator does at a keyboard: as the
 * node's user, typing the user's password when sudo asks for it. Here an askpass helper types it;
 * the sudoers policy and the password check stay the real ones. Used by the lab (which onboards
 * its hosts exactly as a user would) and by tests.
 */
export function pasteProgram(script: string, password: string): string {
  return [
    'askpass=$(mktemp)',
    "cat > \"$askpass\" <<'MKO_ASKPASS'",
    '#!/bin/sh',
    `printf '%s\\n' ${shQuote(password)}`,
    'MKO_ASKPASS',
    'chmod 700 "$askpass"',
    'export SUDO_ASKPASS="$askpass"',
    'sudo() { command sudo -A "$@"; }',
    script.trimEnd(),
    'status=$?',
    'rm -f "$askpass"',
    'exit $status',
    '',
  ].join('\n');
}
