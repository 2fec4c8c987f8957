// mko's one redaction rule: every value mko calls secret (a NUT password, a Proxmox token secret,
// a SecureOn password), of MIN_SECRET characters or more, longest first, becomes REDACTED wherever
// it would be stored or shown. The history callback applies it to everything it records
// (collections/ansible_collections/mko/fleet/plugins/callback/history.py: MIN_SECRET, REDACTED,
// _read_secrets, _blank), reading the values from the 0600 file the runner hands it. The runner
// applies it to the one text it records itself: what ansible-playbook printed when it ended before
// the callback recorded anything. That text cannot be shown to hold no secret (a callback that
// could not open the database leaves Ansible's default output, failed tasks' messages included),
// so it is blanked here, by this same rule; redact.test.ts checks the two languages agree.

/** What a secret is replaced by; `mko operation retry` also looks for it in stored arguments. */
export const REDACTED = '<redacted>';

/** Shorter values are not blanked: they would blank ordinary words. */
export const MIN_SECRET = 4;

/** text with every secret of MIN_SECRET characters or more replaced, the longest first (a secret holding a shorter one is not left half shown). */
export function blankSecrets(text: string, secrets: readonly string[]): string {
  const longestFirst = secrets.filter((s) => s.length >= MIN_SECRET).sort((a, b) => b.length - a.length);
  return longestFirst.reduce((acc, secret) => acc.split(secret).join(REDACTED), text);
}
