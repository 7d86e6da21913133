import { sql, type SQL } from "drizzle-orm";
import { constantTimeEqual, macSha256, type SecretKey } from "@switchyard/crypto";

/** Names what is MACed, so a MAC made for anything else never verifies here. */
const ROW_DOMAIN = "switchyard/audit-chain/v1/row";
const HEAD_DOMAIN = "switchyard/audit-chain/v1/head";

/**
 * An audit row as the chain sees it: every column as text, read by SQL the
 * same way on PGlite and PostgreSQL. `at` keeps its microseconds (a JS Date
 * would drop them, and an edit below the millisecond would go unseen);
 * `details` is jsonb's own text form, canonical for a given value.
 */
export interface ChainRow {
  id: string;
  /** The workspace id, '' for the global chain. */
  chain: string;
  seq: string | null;
  /** Hex; null until sealed. */
  mac: string | null;
  at: string;
  actor_type: string;
  actor_id: string;
  action: string;
  outcome: string;
  workspace_id: string | null;
  app_id: string | null;
  scope: string | null;
  scope_id: string | null;
  name: string | null;
  version: string | null;
  details: string | null;
}

/** The select list that reads a `ChainRow` from `audit_log`. */
export const CHAIN_ROW_COLUMNS: SQL = sql.raw(
  `id::text as id, coalesce(workspace_id, '') as chain, chain_seq::text as seq, encode(chain_mac, 'hex') as mac, ` +
    `to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at, actor_type, actor_id, action, outcome, ` +
    `workspace_id, app_id, scope, scope_id, name, version::text as version, details::text as details`,
);

/**
 * A row's MAC: HMAC-SHA256 over a JSON array of its position (chain, seq),
 * its id, the previous row's MAC (null for the first) and every content
 * column. JSON of strings and nulls is unambiguous: no two rows encode alike.
 * The id is in it, so swapping two rows' contents (or their ids) breaks both.
 */
export function rowMac(key: SecretKey, row: ChainRow, seq: string, prevMac: string | null): Buffer {
  const fields = [
    ROW_DOMAIN,
    row.chain,
    seq,
    row.id,
    prevMac,
    row.at,
    row.actor_type,
    row.actor_id,
    row.action,
    row.outcome,
    row.workspace_id,
    row.app_id,
    row.scope,
    row.scope_id,
    row.name,
    row.version,
    row.details,
  ];
  return macSha256(key, JSON.stringify(fields));
}

/** A chain's checkpoint: its length, last row and when it was sealed. */
export interface ChainHead {
  chain: string;
  seq: number;
  lastId: number;
  /** Hex. */
  lastMac: string;
  sealedAt: Date;
  keyId: string;
}

export function headMac(key: SecretKey, head: ChainHead): Buffer {
  return macSha256(key, JSON.stringify([HEAD_DOMAIN, head.chain, String(head.seq), String(head.lastId), head.lastMac, head.sealedAt.toISOString(), head.keyId]));
}

export function macMatches(computed: Buffer, storedHex: string | null): boolean {
  return storedHex !== null && constantTimeEqual(computed, Buffer.from(storedHex, "hex"));
}
