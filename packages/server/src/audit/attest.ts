import { sql } from "drizzle-orm";
import type { Db } from "@switchyard/core";
import { resultRows } from "@switchyard/db";
import { CHAIN_ROW_COLUMNS, type ChainRow } from "./chain-row.ts";

/**
 * Every workspace chain's start is a row of the global chain, written and
 * sealed by the sealer in the transaction that seals the chain's first row:
 * `audit.chain_started {workspace_id, first_row}`. A database writer who
 * strips a chain's seals and deletes its checkpoint would otherwise make it
 * look new, and the sealer would reseal the edited rows as genuine; with the
 * start on record, the sealer refuses to start that chain again and
 * `audit verify` reports the restart. The global chain's own start has no
 * such record (it would have to live in itself): a reset of every chain at
 * once is found only against heads kept outside the database.
 */
export const CHAIN_STARTED = "audit.chain_started";

export interface Attestation {
  /** The global row's id and position (null if its seal was removed). */
  id: number;
  seq: number | null;
  workspace: string;
  firstRow: number;
}

/** The chain starts on record in the global chain, oldest first: every workspace's, or one's. */
export async function readAttestations(db: Db, workspace?: string): Promise<Attestation[]> {
  const only = workspace === undefined ? sql`` : sql` and details->>'workspace_id' = ${workspace}`;
  // One pass over the global chain's rows: chain starts are rare, and this
  // runs when a chain starts, once per sealer process, and in `audit verify`.
  const rows = resultRows<{ id: string; seq: string | null; workspace: string; first_row: string }>(
    await db.execute(sql`
      select id::text as id, chain_seq::text as seq, details->>'workspace_id' as workspace, details->>'first_row' as first_row
      from audit_log where workspace_id is null and action = ${CHAIN_STARTED}${only} order by id`),
  );
  return rows.map((r) => ({ id: Number(r.id), seq: r.seq === null ? null : Number(r.seq), workspace: r.workspace, firstRow: Number(r.first_row) }));
}

/** Workspace chains with a checkpoint and no start on record: chained before starts were recorded. */
export async function unattestedChains(db: Db): Promise<string[]> {
  return resultRows<{ chain: string }>(
    await db.execute(sql`
      select h.chain from audit_chain_heads h
      where h.chain <> '' and not exists (
        select 1 from audit_log a where a.workspace_id is null and a.action = ${CHAIN_STARTED} and a.details->>'workspace_id' = h.chain)
      order by 1`),
  ).map((r) => r.chain);
}

/**
 * Inserts a chain start into the global chain and returns it as the chain
 * sees it, for the caller to seal in the same transaction. `backfilled`
 * marks a chain sealed before starts were recorded (its start is recorded
 * when a sealer first meets it).
 */
export async function insertAttestation(tx: Db, workspace: string, firstRow: number, backfilled: boolean): Promise<ChainRow> {
  const details = JSON.stringify({ workspace_id: workspace, first_row: firstRow, ...(backfilled ? { backfilled: true } : {}) });
  const [row] = resultRows<ChainRow>(
    await tx.execute(sql`
      insert into audit_log (actor_type, actor_id, action, outcome, details)
      values ('system', 'audit-sealer', ${CHAIN_STARTED}, 'ok', ${details}::jsonb)
      returning ${CHAIN_ROW_COLUMNS}`),
  );
  if (!row) throw new Error("the chain start was not inserted");
  return row;
}
