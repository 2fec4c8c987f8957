export const REDACTED = '<redacted>';

const SECRET_KEY = /pass|secret|token|key|pwd|credential/i;
const SECRET_FILE_FLAGS = new Set(['--vault-password-file', '--become-password-file', '--connection-password-file']);

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
  return value
    .split(/\s+/)
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
      Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) && typeof v !== 'object' ? REDACTED : redactObject(v)]),
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
  return secrets.filter((s) => s.length >= 4).reduce((acc, secret) => acc.split(secret).join(REDACTED), text);
}
