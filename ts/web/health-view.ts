// What the dashboard's health part and a node page's health section show (mko health's latest
// states and events). Pure data: templates/web/partials/dashboard-health.hbs and node-health.hbs
// render it, escaped.
import type { Db } from '../db/index.js';
import { listClusters, listNodes } from '../fleet/index.js';
import { latestStates, listHealthEvents, subjectHealth, type HealthEvent } from '../health/store.js';

const eventView = (e: HealthEvent) => ({ id: e.id, at: e.at, subject: e.subject, check: e.check, to: e.to, change: `${e.from ?? 'new'} -> ${e.to}`, summary: e.summary });

/**
 * What the dashboard's health part's cache key reads: the latest check, the latest event, and the
 * fleet's names (a removed node's results drop out).
 */
export const HEALTH_FINGERPRINT = `SELECT
  (SELECT count(*) || ':' || coalesce(max(checked_at), '') FROM health_checks) || '|' ||
  (SELECT coalesce(max(id), 0) FROM health_events) || '|' ||
  (SELECT count(*) || ':' || coalesce(max(updated_at), '') FROM nodes) || '|' ||
  (SELECT count(*) || ':' || coalesce(max(updated_at), '') FROM clusters)`;

/** Each cluster and node with its worst status and what does not pass; the latest changes. */
export function healthDashboardView(db: Db) {
  const nodeIds = new Map(listNodes(db).map((n) => [n.hostname.toLowerCase(), n.id]));
  const clusterIds = new Map(listClusters(db).map((c) => [c.name.toLowerCase(), c.id]));
  return {
    subjects: subjectHealth(latestStates(db)).map((s) => {
      const id = (s.scope === 'node' ? nodeIds : clusterIds).get(s.subject.toLowerCase());
      return {
        scope: s.scope,
        subject: s.subject,
        href: id === undefined ? null : `/${s.scope === 'node' ? 'nodes' : 'clusters'}/${id}`,
        status: s.status,
        checkedAt: s.checkedAt,
        notPassing: s.notPassing.map((c) => ({ id: c.id, summary: c.summary })),
      };
    }),
    events: listHealthEvents(db, { limit: 5 }).map(eventView),
  };
}

/** A node page's health section: every check of the node, and its latest changes. */
export function nodeHealthView(db: Db, hostname: string) {
  return { hostname, checks: latestStates(db, { subject: hostname }), events: listHealthEvents(db, { subject: hostname, limit: 10 }).map(eventView) };
}
