export const REDACTED = '<redacted>';

const SECRET_KEY = /pass|secret|token|key|pwd|credential/i;
const SECRET_FILE_FLAGS = new Set(['--vault-password-file', '--become-password-file', '--connection-password-file']);
// Words as Ansible's key=value parser sees them: a quoted value (even unclosed) stays one word.
const WORD = /(?:[^\s"']+|"[^"]*(?:"|$)|'[^']*(?:'|$))+/g;

function redactAssignments(value: string): string {
  if (value.startsWith('@')) return value; // a vars file: its name is not a secret
  const trimmed = value.trim();
  if (trimmed.startsWith('{')) {
    try {
      return JSON.stringify(redactObject(JSON.parse(trimmed) as unknown));
    } catch {
      return REDACTED;
    }
  }
  return (value.match(WORD) ?? [])
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq > 0 && SECRET_KEY.test(pair.slice(0, eq)) ? `${pair.slice(0, eq)}=${REDACTED}` : pair;
    })
    .join(' ');
}

function redactObject(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactObject);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      // A list or object under a secret-looking key is hidden whole: its items have no keys to test.
      Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? REDACTED : redactObject(v)]),
    );
  }
  return value;
}

/** A command line as it may be stored: extra-vars with secret-looking keys and password files hidden. */
export function redactArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const next = args[i + 1];
    if ((arg === '-e' || arg === '--extra-vars') && next !== undefined) {
      out.push(arg, redactAssignments(next));
      i++;
    } else if (arg.startsWith('--extra-vars=')) {
      out.push(`--extra-vars=${redactAssignments(arg.slice('--extra-vars='.length))}`);
    } else if (/^-e./s.test(arg)) {
      // argparse also takes the value attached: -ek=v or -e=k=v.
      const prefix = arg.startsWith('-e=') ? '-e=' : '-e';
      out.push(`${prefix}${redactAssignments(arg.slice(prefix.length))}`);
    } else if (SECRET_FILE_FLAGS.has(arg.split('=')[0] ?? '') && arg.includes('=')) {
      out.push(`${arg.split('=')[0]}=${REDACTED}`);
    } else if (SECRET_FILE_FLAGS.has(arg) && next !== undefined) {
      out.push(arg, REDACTED);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** Replace every occurrence of known secret values in text (for logs streamed from a child). */
export function scrub(text: string, secrets: readonly string[]): string {
  // Longest first, so a secret that contains a shorter one is not left half shown.
  return [...secrets]
    .filter((s) => s.length >= 4)
    .sort((a, b) => b.length - a.length)
    .reduce((acc, secret) => acc.split(secret).join(REDACTED), text);
}
