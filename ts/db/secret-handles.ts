// The columns that hold a handle into the secrets file (ts/secrets), in one place, so that
// deleting a row can take its secrets along. A test checks that every *_secret column of the
// schema is listed here.
import type { Db } from './open.js';

export const SECRET_COLUMNS = ['node_wol.secureon_secret', 'proxmox_hosts.token_secret', 'upses.primary_secret', 'upses.secondary_secret', 'health_notifiers.url_secret'] as const;

/** The handles held by the rows that go when node `nodeId` is deleted (its node_wol row and its UPS). */
export function nodeSecretHandles(db: Db, nodeId: number): string[] {
  const rows = db
    .prepare(
      `SELECT secureon_secret AS handle FROM node_wol WHERE node_id = @nodeId
       UNION ALL SELECT primary_secret FROM upses WHERE node_id = @nodeId
       UNION ALL SELECT secondary_secret FROM upses WHERE node_id = @nodeId`,
    )
    .all({ nodeId }) as { handle: string | null }[];
  return rows.flatMap((r) => (r.handle === null ? [] : [r.handle]));
}
