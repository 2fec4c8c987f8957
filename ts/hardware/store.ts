import type { Statement } from 'better-sqlite3';
import { writeTransaction, type Db } from '../db/index.js';
import type { HardwareReport } from './schema.js';

/** One stored report without its body: what `hardware show --history` lists. */
export interface StoredReportInfo {
  id: number;
  nodeId: number;
  collectedAt: string;
  storedAt: string;
  operationId: number | null;
}

export interface StoredReport extends StoredReportInfo {
  report: HardwareReport;
}

interface ReportRow {
  id: number;
  node_id: number;
  collected_at: string;
  stored_at: string;
  operation_id: number | null;
  report?: string;
}

export interface NewReport {
  nodeId: number;
  report: HardwareReport;
  /** Wake-on-LAN MAC to record on the node if it has none yet. */
  wolMac?: string | null;
}

export interface StoredOutcome {
  nodeId: number;
  reportId: number;
  /** The MAC written to nodes.wol_mac, or null when the node already had one (or none was found). */
  wolMacFilled: string | null;
}

interface Statements {
  insert: Statement;
  list: Statement;
  latest: Statement;
  byId: Statement;
  before: Statement;
  fillMac: Statement;
}

const statements = new WeakMap<Db, Statements>();

function prepared(db: Db): Statements {
  let s = statements.get(db);
  if (!s) {
    s = {
      insert: db.prepare(
        `INSERT INTO hardware_reports (node_id, collected_at, operation_id, report)
         VALUES (@nodeId, @collectedAt, @operationId, @report)`,
      ),
      list: db.prepare(
        `SELECT id, node_id, collected_at, stored_at, operation_id FROM hardware_reports
         WHERE node_id = @nodeId ORDER BY collected_at DESC, id DESC LIMIT @limit`,
      ),
      latest: db.prepare(
        `SELECT * FROM hardware_reports WHERE node_id = @nodeId ORDER BY collected_at DESC, id DESC LIMIT 1`,
      ),
      byId: db.prepare(`SELECT * FROM hardware_reports WHERE node_id = @nodeId AND id = @id`),
      // The report collected just before another one (same order as latest).
      before: db.prepare(
        `SELECT * FROM hardware_reports WHERE node_id = @nodeId
           AND (collected_at < @collectedAt OR (collected_at = @collectedAt AND id < @id))
         ORDER BY collected_at DESC, id DESC LIMIT 1`,
      ),
      // nodes belongs to the fleet module; this one statement only ever fills a MAC that is unset.
      fillMac: db.prepare(
        `UPDATE nodes SET wol_mac = @mac, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE id = @nodeId AND wol_mac IS NULL`,
      ),
    };
    statements.set(db, s);
  }
  return s;
}

function toInfo(row: ReportRow): StoredReportInfo {
  return { id: row.id, nodeId: row.node_id, collectedAt: row.collected_at, storedAt: row.stored_at, operationId: row.operation_id };
}

/** UTC ISO 8601 with milliseconds, so stored times sort as text. */
export function normalizeTime(iso: string): string {
  return new Date(iso).toISOString();
}

/**
 * Store reports of one collection run in a single transaction: all of them, or (on any error)
 * none. Fills each node's Wake-on-LAN MAC only where it is unset.
 */
export function storeReports(db: Db, reports: NewReport[], operationId: number | null): StoredOutcome[] {
  const s = prepared(db);
  return writeTransaction(db, () =>
    reports.map((r) => {
      const result = s.insert.run({
        nodeId: r.nodeId,
        collectedAt: normalizeTime(r.report.collected_at),
        operationId,
        report: JSON.stringify(r.report),
      });
      const filled = r.wolMac ? s.fillMac.run({ nodeId: r.nodeId, mac: r.wolMac }).changes > 0 : false;
      return { nodeId: r.nodeId, reportId: Number(result.lastInsertRowid), wolMacFilled: filled ? (r.wolMac ?? null) : null };
    }),
  );
}

/** A node's stored reports, newest first, without their bodies. */
export function listReports(db: Db, nodeId: number, limit = 100): StoredReportInfo[] {
  return (prepared(db).list.all({ nodeId, limit }) as ReportRow[]).map(toInfo);
}

const toReport = (row: ReportRow | undefined): StoredReport | undefined =>
  row ? { ...toInfo(row), report: JSON.parse(row.report ?? '{}') as HardwareReport } : undefined;

/** The node's most recently collected report. */
export function latestReport(db: Db, nodeId: number): StoredReport | undefined {
  return toReport(prepared(db).latest.get({ nodeId }) as ReportRow | undefined);
}

/** One of the node's reports by id (undefined when the node has no report with that id). */
export function reportById(db: Db, nodeId: number, id: number): StoredReport | undefined {
  return toReport(prepared(db).byId.get({ nodeId, id }) as ReportRow | undefined);
}

/** The node's report collected just before `report`. */
export function reportBefore(db: Db, report: StoredReportInfo): StoredReport | undefined {
  return toReport(prepared(db).before.get({ nodeId: report.nodeId, collectedAt: report.collectedAt, id: report.id }) as ReportRow | undefined);
}
