// Where health events are sent (mko health notify add|list|remove): a command, run without a
// shell, or a webhook. A webhook URL often carries a token (Slack, ntfy, Discord, Gotify), so the
// whole URL is a secret: it goes to the secrets file, the row keeps a handle and the URL's origin,
// which is all any list, log or answer shows.
import { refuseNumericName, writeTransaction, findByRef, type Db } from '../db/index.js';
import { quote, UserError } from '../errors.js';
import { deleteSecrets, getSecret, withSecrets } from '../secrets/index.js';
import { CONTROL_CHARACTER, validate } from '../validate/index.js';

export type NotifierKind = 'command' | 'webhook';

export interface Notifier {
  id: number;
  name: string;
  kind: NotifierKind;
  /** command: the program and its arguments. */
  argv: string[] | null;
  /** webhook: the URL's origin (scheme, host, port); the rest of it is secret. */
  url: string | null;
  /** Seconds a delivery may take. */
  timeout: number;
  enabled: boolean;
  createdAt: string;
  /** The last delivery: when, whether it worked, what happened. */
  lastAt: string | null;
  lastOk: boolean | null;
  lastDetail: string | null;
}

export interface NotifierInput {
  name: string;
  /** The program to run (an absolute path, or a name on PATH). */
  command?: string;
  /** Its arguments, each passed as it is (no shell, nothing expanded). */
  args?: string[];
  /** A http(s) URL that takes a POST of the event as JSON. Secret. */
  webhook?: string;
  timeout?: number;
}

export const notifierFlags = { name: 'name', command: '--command', args: '--arg', webhook: '--webhook', timeout: '--timeout' };

/** What `health notify add` and POST /api/v1/checks/notifiers take; the webhook URL is write-only. */
export const notifierInputSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$', hint: 'a name of up to 63 letters, digits, ".", "_" or "-", e.g. ops-mail' },
    command: { type: 'string', minLength: 1, maxLength: 4096, noTemplate: true, printable: true, hint: 'the program to run with the event as JSON on its stdin, e.g. /usr/local/bin/notify-ops (no shell: give arguments with --arg)' },
    args: {
      type: 'array',
      maxItems: 64,
      items: { type: 'string', maxLength: 4096, printable: true, hint: 'one argument, passed as it is (no shell)' },
      hint: 'the arguments of the command, each as it is',
    },
    // Checked before the schema, by a check that never echoes the value.
    webhook: { type: 'string', writeOnly: true, description: 'an http(s) URL that takes the event as a JSON POST; stored as a secret, never shown (only its origin)' },
    timeout: { type: 'number', minimum: 1, maximum: 600, hint: 'seconds from 1 to 600' },
  },
  required: ['name'],
  additionalProperties: false,
};

interface NotifierRow {
  id: number;
  name: string;
  kind: NotifierKind;
  argv: string | null;
  url_secret: string | null;
  url_shown: string | null;
  timeout: number;
  enabled: number;
  created_at: string;
  last_at: string | null;
  last_ok: number | null;
  last_detail: string | null;
}

const SELECT = `SELECT n.*, d.at AS last_at, d.ok AS last_ok, d.detail AS last_detail FROM health_notifiers n
  LEFT JOIN health_deliveries d ON d.id = (SELECT max(id) FROM health_deliveries WHERE notifier_id = n.id)`;

const toNotifier = (r: NotifierRow): Notifier => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  argv: r.argv === null ? null : (JSON.parse(r.argv) as string[]),
  url: r.url_shown,
  timeout: r.timeout,
  enabled: r.enabled === 1,
  createdAt: r.created_at,
  lastAt: r.last_at,
  lastOk: r.last_ok === null ? null : r.last_ok === 1,
  lastDetail: r.last_detail,
});

/** The URL's origin: what may be shown of a webhook. */
export function shownUrl(url: URL): string {
  return `${url.origin}/…`;
}

/** A webhook URL, or a UserError that never repeats it (it is a secret even when malformed). */
function parseWebhook(value: unknown): URL {
  const fix = 'must be an http:// or https:// URL that takes a JSON POST, e.g. https://ntfy.example.com/mko-alerts (it is stored as a secret)';
  if (typeof value !== 'string' || value.length > 2048 || CONTROL_CHARACTER.test(value) || /\s/.test(value)) throw new UserError(`invalid --webhook: ${fix}`, 1, 'webhook');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UserError(`invalid --webhook: ${fix}`, 1, 'webhook');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') throw new UserError(`invalid --webhook: ${fix}`, 1, 'webhook');
  return url;
}

/** Every check of `notify add`; nothing is written before they all pass. */
function checkInput(db: Db, input: NotifierInput): { kind: NotifierKind; url: URL | null } {
  const url = input.webhook !== undefined ? parseWebhook(input.webhook) : null;
  validate(notifierInputSchema, { ...input, ...(input.webhook !== undefined ? { webhook: 'x' } : {}) }, notifierFlags);
  refuseNumericName(input.name, 'notifier name');
  if ((input.command === undefined) === (input.webhook === undefined)) {
    throw new UserError('give --command PROGRAM (with --arg for each argument) or --webhook URL: one of the two', 1, input.command === undefined ? 'command' : 'webhook');
  }
  if (input.args && input.args.length > 0 && input.command === undefined) throw new UserError('--arg goes with --command: give the program with --command', 1, 'args');
  refuseTakenName(db, input.name);
  return { kind: url ? 'webhook' : 'command', url };
}

function refuseTakenName(db: Db, name: string): void {
  if (findNotifier(db, name)) throw new UserError(`notifier ${name} already exists: remove it first (mko health notify remove ${name} --yes)`);
}

export function addNotifier(db: Db, dataDir: string, input: NotifierInput): Notifier {
  const { kind, url } = checkInput(db, input);
  const insert = (handle: string | null): Notifier =>
    writeTransaction(db, () => {
      refuseTakenName(db, input.name);
      const id = db
        .prepare('INSERT INTO health_notifiers (name, kind, argv, url_secret, url_shown, timeout) VALUES (@name, @kind, @argv, @handle, @shown, @timeout)')
        .run({
          name: input.name,
          kind,
          argv: kind === 'command' ? JSON.stringify([input.command, ...(input.args ?? [])]) : null,
          handle,
          shown: url ? shownUrl(url) : null,
          timeout: input.timeout ?? 30,
        }).lastInsertRowid;
      return getNotifier(db, Number(id));
    });
  if (!url) return insert(null);
  return withSecrets(dataDir, (secrets) => {
    const handle = secrets.put('health-webhook', url.href);
    try {
      return insert(handle);
    } catch (error) {
      secrets.delete(handle);
      throw error;
    }
  });
}

export function listNotifiers(db: Db): Notifier[] {
  return (db.prepare(`${SELECT} ORDER BY n.name`).all() as NotifierRow[]).map(toNotifier);
}

export function findNotifier(db: Db, ref: string | number): Notifier | undefined {
  const row = findByRef<NotifierRow>(db, SELECT, { id: 'n.id', name: 'n.name' }, ref);
  return row ? toNotifier(row) : undefined;
}

export function getNotifier(db: Db, ref: string | number): Notifier {
  const found = findNotifier(db, ref);
  if (!found) throw new UserError(`no notifier ${quote(String(ref))}: see mko health notify list`);
  return found;
}

/** The webhook's full URL, for a delivery only. */
export function webhookUrl(db: Db, dataDir: string, notifier: Notifier): string {
  const row = db.prepare('SELECT url_secret FROM health_notifiers WHERE id = ?').get(notifier.id) as { url_secret: string | null } | undefined;
  if (!row?.url_secret) throw new Error(`notifier ${notifier.name} is no webhook`);
  return getSecret(dataDir, row.url_secret, `notifier ${notifier.name}`);
}

export function removeNotifier(db: Db, dataDir: string, ref: string): Notifier {
  const { notifier, handle } = writeTransaction(db, () => {
    const found = getNotifier(db, ref);
    const row = db.prepare('SELECT url_secret FROM health_notifiers WHERE id = ?').get(found.id) as { url_secret: string | null };
    db.prepare('DELETE FROM health_notifiers WHERE id = ?').run(found.id);
    return { notifier: found, handle: row.url_secret };
  });
  deleteSecrets(dataDir, [handle]);
  return notifier;
}

export function recordDelivery(db: Db, delivery: { eventId: number; notifierId: number; ok: boolean; detail: string }): void {
  db.prepare('INSERT INTO health_deliveries (event_id, notifier_id, ok, detail) VALUES (@eventId, @notifierId, @ok, @detail)').run({ ...delivery, ok: delivery.ok ? 1 : 0 });
}

export interface Delivery {
  notifier: string;
  at: string;
  ok: boolean;
  detail: string;
}

/** How each event was delivered, by event id. */
export function deliveriesOf(db: Db, eventIds: readonly number[]): Map<number, Delivery[]> {
  const out = new Map<number, Delivery[]>();
  if (eventIds.length === 0) return out;
  const rows = db
    .prepare(
      `SELECT d.event_id, n.name AS notifier, d.at, d.ok, d.detail FROM health_deliveries d JOIN health_notifiers n ON n.id = d.notifier_id
       WHERE d.event_id IN (SELECT value FROM json_each(?)) ORDER BY d.id`,
    )
    .all(JSON.stringify(eventIds)) as { event_id: number; notifier: string; at: string; ok: number; detail: string }[];
  for (const r of rows) out.set(r.event_id, [...(out.get(r.event_id) ?? []), { notifier: r.notifier, at: r.at, ok: r.ok === 1, detail: r.detail }]);
  return out;
}
