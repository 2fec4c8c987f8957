// Sending health events: each enabled notifier gets each event, as JSON. A command gets it on its
// stdin (argv as stored, no shell: nothing stored is ever evaluated); a webhook gets it as the body
// of a POST. A delivery that fails (exit code, timeout, HTTP error, no connection) is recorded
// with the event and the watch goes on, and the next passes try it again: up to MAX_ATTEMPTS
// times, for a day after the event (a webhook behind a router that is rebooting, say). An event
// recorded by a pass stopped before it sent anything is sent by the next pass too. Nothing
// recorded or logged repeats a webhook's URL.
import type { Db } from '../db/index.js';
import { blankSecrets } from '../ops/redact.js';
import { listNotifiers, recordDelivery, webhookUrl, type Notifier } from './notifiers.js';
import { getEvent, type HealthEvent } from './store.js';

/** Tries of one event on one notifier, the first included, before mko gives up on it. */
export const MAX_ATTEMPTS = 5;
/** How long after an event it is still worth sending. */
export const RETRY_WINDOW_MS = 86_400_000;

/** What a notifier receives: the event, and one line a human can read. */
export interface HealthMessage {
  source: 'mko';
  type: 'health.event';
  text: string;
  event: HealthEvent;
}

export function eventText(e: HealthEvent): string {
  return `${e.scope} ${e.subject}: ${e.check} ${e.from ?? 'new'} -> ${e.to}: ${e.summary}`;
}

export const messageOf = (event: HealthEvent): HealthMessage => ({ source: 'mko', type: 'health.event', text: eventText(event), event });

export interface DeliveryResult {
  eventId: number;
  notifier: string;
  ok: boolean;
  detail: string;
  /** An earlier pass's event, sent again (or sent at last). */
  retry: boolean;
}

/** The last characters of a command's output: enough to see why it failed. */
const tail = (text: string): string => (text.length > 500 ? `…${text.slice(-500)}` : text).trim();

async function runCommand(notifier: Notifier, body: string, signal: AbortSignal | undefined): Promise<{ ok: boolean; detail: string }> {
  // Loaded on use: `mko health` and the web pages never run a notifier.
  const { execa } = await import('execa');
  const [program = '', ...args] = notifier.argv ?? [];
  const child = await execa(program, args, {
    input: body,
    all: true,
    reject: false,
    timeout: notifier.timeout * 1000,
    ...(signal ? { cancelSignal: signal } : {}),
    env: { MKO_NOTIFIER: notifier.name },
  });
  if (child.failed && child.exitCode === undefined && !child.timedOut && !child.isCanceled) {
    return { ok: false, detail: `could not run ${program}: ${(child.shortMessage ?? '').split('\n')[0] ?? ''}` };
  }
  const output = tail(child.all ?? '');
  if (child.timedOut) return { ok: false, detail: `stopped after ${notifier.timeout} s${output ? `: ${output}` : ''}` };
  if (child.isCanceled) return { ok: false, detail: 'stopped: the watch is going away' };
  return child.exitCode === 0
    ? { ok: true, detail: `exit 0${output ? `: ${output}` : ''}` }
    : { ok: false, detail: `exit ${child.exitCode ?? child.signal ?? '?'}${output ? `: ${output}` : ''}` };
}

/** The parts of a URL that may hold its token, for blanking anything that repeats them. */
function urlSecrets(href: string): string[] {
  const url = new URL(href);
  return [href, url.pathname + url.search, url.pathname, url.search, url.password, url.username, decodeURIComponent(url.pathname)].filter((s) => s !== '/' && s !== '');
}

async function postWebhook(db: Db, dataDir: string, notifier: Notifier, body: string, signal: AbortSignal | undefined): Promise<{ ok: boolean; detail: string }> {
  let href: string;
  try {
    href = webhookUrl(db, dataDir, notifier);
  } catch (error) {
    return { ok: false, detail: (error as Error).message };
  }
  const limit = AbortSignal.timeout(notifier.timeout * 1000);
  try {
    const response = await fetch(href, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'mko-health' },
      body,
      redirect: 'manual',
      signal: signal ? AbortSignal.any([signal, limit]) : limit,
    });
    const text = tail(await response.text().catch(() => ''));
    const detail = blankSecrets(`HTTP ${response.status}${text ? `: ${text}` : ''}`, urlSecrets(href));
    return { ok: response.ok, detail };
  } catch (error) {
    const e = error as Error & { cause?: { message?: string; code?: string } };
    if (signal?.aborted) return { ok: false, detail: 'stopped: the watch is going away' };
    const why = limit.aborted ? `no answer within ${notifier.timeout} s` : (e.cause?.message ?? e.message);
    return { ok: false, detail: blankSecrets(`POST to ${notifier.url ?? 'the webhook'} failed: ${why}`, urlSecrets(href)) };
  }
}

/** Send one event to one notifier and record how it went. */
export async function deliver(db: Db, dataDir: string, notifier: Notifier, event: HealthEvent, signal?: AbortSignal): Promise<DeliveryResult> {
  const body = JSON.stringify(messageOf(event));
  let outcome: { ok: boolean; detail: string };
  try {
    outcome = notifier.kind === 'command' ? await runCommand(notifier, body, signal) : await postWebhook(db, dataDir, notifier, body, signal);
  } catch (error) {
    // A notifier must never stop the watch: whatever went wrong is its delivery's result.
    outcome = { ok: false, detail: `failed: ${(error as Error).message}` };
  }
  recordDelivery(db, { eventId: event.id, notifierId: notifier.id, ...outcome });
  return { eventId: event.id, notifier: notifier.name, ...outcome, retry: false };
}

/**
 * The earlier events a notifier still owes, oldest first: never delivered to it, tried fewer than
 * MAX_ATTEMPTS times, at most RETRY_WINDOW_MS old, and recorded after the notifier was added (a
 * new notifier is not sent the history).
 */
export function owedEvents(db: Db, notifier: Notifier, now = new Date()): HealthEvent[] {
  const since = new Date(now.getTime() - RETRY_WINDOW_MS).toISOString();
  const rows = db
    .prepare(
      `SELECT e.id FROM health_events e
       WHERE e.at >= @since AND e.at >= @added
         AND NOT EXISTS (SELECT 1 FROM health_deliveries d WHERE d.event_id = e.id AND d.notifier_id = @notifier AND d.ok = 1)
         AND (SELECT count(*) FROM health_deliveries d WHERE d.event_id = e.id AND d.notifier_id = @notifier) < @max
       ORDER BY e.id`,
    )
    .all({ since, added: notifier.createdAt, notifier: notifier.id, max: MAX_ATTEMPTS }) as { id: number }[];
  return rows.map((r) => getEvent(db, r.id));
}

/**
 * Each notifier's owed earlier events (a retry), then every new event, to every enabled notifier,
 * in order; returns each delivery.
 */
export async function notifyEvents(db: Db, dataDir: string, events: readonly HealthEvent[], options: { signal?: AbortSignal } = {}): Promise<DeliveryResult[]> {
  const notifiers = listNotifiers(db).filter((n) => n.enabled);
  const fresh = new Set(events.map((e) => e.id));
  const results: DeliveryResult[] = [];
  // Once the watch is stopping, nothing new starts: a notifier cut off half way would be a failed delivery.
  for (const notifier of notifiers) {
    for (const event of owedEvents(db, notifier).filter((e) => !fresh.has(e.id))) {
      if (!options.signal?.aborted) results.push({ ...(await deliver(db, dataDir, notifier, event, options.signal)), retry: true });
    }
  }
  for (const event of events) {
    for (const notifier of notifiers) if (!options.signal?.aborted) results.push(await deliver(db, dataDir, notifier, event, options.signal));
  }
  return results;
}
