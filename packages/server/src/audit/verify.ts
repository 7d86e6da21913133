import { sql } from "drizzle-orm";
import type { Db } from "@switchyard/core";
import type { Keyring, SecretKey } from "@switchyard/crypto";
import { resultRows } from "@switchyard/db";
import { CHAIN_ROW_COLUMNS, headMac, macMatches, rowMac, type ChainRow } from "./chain-row.ts";
import { readAttestations, type Attestation } from "./attest.ts";
import { findAuditKey } from "./key.ts";
import { UNSEALED_GRACE_MS } from "./sealer.ts";

/** What broke a chain, at its first bad position. */
export type AuditProblemKind = "edited" | "deleted" | "reordered" | "truncated" | "checkpoint" | "unsealed" | "restarted" | "unattested";

export interface AuditProblem {
  what: AuditProblemKind;
  /** The chain position where it broke (1 = first row). */
  seq: number;
  /** The row now at that position; null when there is none (deleted, truncated). */
  id: number | null;
  /** Deleted or truncated: the last intact row before the hole. */
  after_id?: number | null;
  /** Deleted: the first row after the hole. */
  before_id?: number;
  /** Reordered: the row whose content (or id) this one holds. */
  moved_from_id?: number;
  message: string;
}

export interface SavedHead {
  seq: number;
  last_id: number;
  last_mac: string;
  sealed_at: string;
}

export interface ChainReport {
  /** null for the global chain. */
  workspace_id: string | null;
  /** Sealed rows checked before the first problem (all of them when ok). */
  rows_checked: number;
  /** Rows not sealed: those written in the last moments are neither checked nor tampered. */
  unsealed: number;
  /** Of those, rows unsealed for longer than the grace period: a failure (seals removed, or no sealer running). */
  overdue: number;
  /** The checkpoint in the database, as this run found it. */
  head: SavedHead | null;
  ok: boolean;
  problem: AuditProblem | null;
}

export interface AuditVerifyReport {
  ok: boolean;
  chains: ChainReport[];
}

export interface AuditVerifyOptions {
  /** One chain: a workspace id, or null for the global chain. All chains when absent. */
  workspace?: string | null;
  /**
   * Heads saved earlier, outside the database (an earlier report's `chains`):
   * each chain must still hold that many rows, the last one unchanged. This
   * is what finds a tail cut together with its checkpoint rolled back.
   */
  against?: { workspace_id: string | null; head: SavedHead | null }[];
  onProgress?: (workspace: string | null, rows: number) => void;
  /** How long a row may stay unsealed before that is a failure; 5 minutes by default (the sealer runs every second). */
  graceMs?: number;
}

const PAGE = 5000;

/**
 * Walks each audit chain in order and checks every sealed row's MAC, the
 * positions (a gap is a deleted row), the checkpoint (a chain shorter than
 * its checkpoint lost its tail) and, with `against`, heads kept elsewhere.
 * Stops each chain at its first bad row and says what happened there.
 *
 * @example
 * const report = await verifyAuditChains(database.db, keyring);
 * if (!report.ok) console.log(report.chains.filter((c) => !c.ok));
 */
export async function verifyAuditChains(db: Db, keyring: Keyring, options: AuditVerifyOptions = {}): Promise<AuditVerifyReport> {
  const only = options.workspace === undefined ? null : (options.workspace ?? "");
  const unsealed = await unsealedRows(db, options.graceMs ?? UNSEALED_GRACE_MS);
  const starts = new Map<string, Attestation[]>();
  const attestations = await readAttestations(db);
  for (const a of attestations) starts.set(a.workspace, [...(starts.get(a.workspace) ?? []), a]);
  const heads = new Map(
    resultRows<{ chain: string; seq: string; last_id: string; last_mac: string; sealed_at: string; key_id: string; mac: string }>(
      await db.execute(sql`
        select chain, seq::text as seq, last_id::text as last_id, encode(last_mac, 'hex') as last_mac,
          to_char(sealed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as sealed_at, key_id, encode(mac, 'hex') as mac
        from audit_chain_heads`),
    ).map((r) => [r.chain, r]),
  );
  const sealedChains = resultRows<{ chain: string }>(
    await db.execute(sql`select distinct coalesce(workspace_id, '') as chain from audit_log where chain_seq is not null`),
  ).map((r) => r.chain);
  const saved = new Map((options.against ?? []).map((c) => [c.workspace_id ?? "", c.head]));
  const names = [...new Set([...sealedChains, ...unsealed.keys(), ...heads.keys(), ...saved.keys(), ...starts.keys()])]
    .filter((chain) => only === null || chain === only)
    .sort();
  const key = await findAuditKey(db, keyring);

  const chains: ChainReport[] = [];
  for (const chain of names) {
    const head = heads.get(chain) ?? null;
    const report: ChainReport = {
      workspace_id: chain === "" ? null : chain,
      rows_checked: 0,
      unsealed: unsealed.get(chain)?.count ?? 0,
      overdue: unsealed.get(chain)?.overdue ?? 0,
      head: head ? { seq: Number(head.seq), last_id: Number(head.last_id), last_mac: head.last_mac, sealed_at: head.sealed_at } : null,
      ok: true,
      problem: null,
    };
    chains.push(report);
    const fail = (problem: AuditProblem) => {
      report.ok = false;
      report.problem = problem;
    };
    const hasSealed = sealedChains.includes(chain);
    if ((hasSealed || head) && !key) {
      fail({ what: "checkpoint", seq: 1, id: null, message: "the chain is sealed but the audit chain key is missing from data_keys" });
      continue;
    }
    const started = starts.get(chain) ?? [];
    const pending = unsealed.get(chain);
    if (started.length > 1) {
      const [first, again] = started as [Attestation, Attestation];
      fail({
        what: "restarted",
        seq: 1,
        id: again.firstRow,
        message: `chain restarted: it was started at id ${first.firstRow} (global row id ${first.id}) and again at id ${again.firstRow} (global row id ${again.id}); its checkpoint and seals had been removed`,
      });
      continue;
    }
    let last: { seq: number; id: number; mac: string } | null = null;
    let first: number | null = null;
    if (key) {
      const walked = await walk(db, key, chain, (rows) => options.onProgress?.(report.workspace_id, rows));
      report.rows_checked = walked.checked;
      last = walked.last;
      first = walked.firstId;
      if (walked.problem) {
        // A gap whose rows are still there, unsealed and older than the head, is a seal removed, not a row deleted.
        if (walked.problem.what === "deleted" && pending?.beforeHead) fail(strippedAt(walked.problem, pending));
        else fail(walked.problem);
        continue;
      }
    }
    const lastSeq = last?.seq ?? 0;
    const [start] = started;
    if (start && first !== null && first !== start.firstRow) {
      fail({
        what: "restarted",
        seq: 1,
        id: first,
        message: `chain restarted: it was started at id ${start.firstRow} (global row id ${start.id}) but now starts at id ${first}`,
      });
      continue;
    }
    if (head && key) {
      const stored = { chain, seq: Number(head.seq), lastId: Number(head.last_id), lastMac: head.last_mac, sealedAt: new Date(head.sealed_at), keyId: head.key_id };
      if (!macMatches(headMac(key, stored), head.mac)) {
        fail({ what: "checkpoint", seq: stored.seq, id: null, message: `the chain's checkpoint was edited (its MAC does not match)` });
        continue;
      }
      if (stored.seq > lastSeq) {
        fail({
          what: "truncated",
          seq: lastSeq + 1,
          id: null,
          after_id: last?.id ?? null,
          message: `the tail was cut: the chain ends at row ${lastSeq}${last ? ` (id ${last.id})` : ""} but its checkpoint records ${stored.seq} rows ending at id ${stored.lastId}`,
        });
        continue;
      }
      if (stored.seq < lastSeq || stored.lastId !== last?.id || stored.lastMac !== last.mac) {
        fail({ what: "checkpoint", seq: stored.seq, id: stored.lastId, message: `the checkpoint (row ${stored.seq}, id ${stored.lastId}) does not match the chain's last row` });
        continue;
      }
    } else if (lastSeq === 0 && (start || (chain === "" && attestations.length > 0))) {
      fail({
        what: "checkpoint",
        seq: 1,
        id: start?.firstRow ?? null,
        message: start
          ? `chain head missing: the chain was started at id ${start.firstRow} (global row id ${start.id}) but has no checkpoint and no sealed row; its seals were removed`
          : "chain head missing: the global chain records chain starts but has no checkpoint and no sealed row; its seals were removed",
      });
      continue;
    } else if (lastSeq > 0) {
      fail({
        what: "checkpoint",
        seq: lastSeq,
        id: last?.id ?? null,
        message: `the chain's checkpoint is missing (deleted, perhaps with rows after id ${last?.id}); a head saved outside the database says how many rows there were`,
      });
      continue;
    }
    if (chain !== "" && lastSeq > 0 && !start) {
      fail({
        what: "unattested",
        seq: 1,
        id: first,
        message: "the chain's start is not recorded in the global chain (rows of the global chain were removed, or no sealer has run since the upgrade that records starts)",
      });
      continue;
    }
    if (pending?.overdue) {
      fail(
        pending.beforeHead
          ? { what: "unsealed", seq: lastSeq + 1, id: pending.firstBeforeHead, message: `unsealed row before the head: ${pending.beforeHead} row(s) older than the chain's last sealed row have no seal (first id ${pending.firstBeforeHead}); their seals were removed` }
          : { what: "unsealed", seq: lastSeq + 1, id: pending.firstOverdue, message: `${pending.overdue} row(s) not sealed for longer than the grace period (first id ${pending.firstOverdue}): no sealer has run (start the service), or their seals were removed` },
      );
      continue;
    }
    const kept = saved.get(chain);
    if (kept) {
      if (kept.seq > lastSeq) {
        fail({
          what: "truncated",
          seq: lastSeq + 1,
          id: null,
          after_id: last?.id ?? null,
          message: `the tail was cut and the checkpoint rolled back: the chain ends at row ${lastSeq} but the saved head (${kept.sealed_at}) records ${kept.seq} rows ending at id ${kept.last_id}`,
        });
        continue;
      }
      const [row] = resultRows<{ id: string; mac: string }>(
        await db.execute(sql`select id::text as id, encode(chain_mac, 'hex') as mac from audit_log where coalesce(workspace_id, '') = ${chain} and chain_seq = ${kept.seq}`),
      );
      if (!row || Number(row.id) !== kept.last_id || row.mac !== kept.last_mac) {
        fail({ what: "edited", seq: kept.seq, id: row ? Number(row.id) : null, message: `row ${kept.seq} differs from the saved head (${kept.sealed_at}): the chain was rewritten` });
      }
    }
  }
  return { ok: chains.every((c) => c.ok), chains };
}

async function* chainRows(db: Db, chain: string): AsyncGenerator<ChainRow> {
  let after = 0;
  for (;;) {
    // Keyset paging on the chain's unique (chain, seq) index.
    const page = resultRows<ChainRow>(
      await db.execute(sql`
        select ${CHAIN_ROW_COLUMNS} from audit_log
        where coalesce(workspace_id, '') = ${chain} and chain_seq is not null and chain_seq > ${after}
        order by coalesce(workspace_id, ''), chain_seq limit ${PAGE}`),
    );
    yield* page;
    if (page.length < PAGE) return;
    after = Number(page.at(-1)!.seq);
  }
}

interface Walked {
  checked: number;
  /** The id at position 1, when there is one. */
  firstId: number | null;
  last: { seq: number; id: number; mac: string } | null;
  problem: AuditProblem | null;
}

async function walk(db: Db, key: SecretKey, chain: string, progress: (rows: number) => void): Promise<Walked> {
  let checked = 0;
  let prev: { seq: number; id: number; mac: string } | null = null;
  let firstId: number | null = null;
  for await (const row of chainRows(db, chain)) {
    if (row.seq === "1") firstId = Number(row.id);
    const seq = Number(row.seq);
    const expected: number = (prev?.seq ?? 0) + 1;
    if (seq !== expected) {
      return {
        checked,
        firstId,
        last: prev,
        problem: {
          what: "deleted",
          seq: expected,
          id: null,
          after_id: prev?.id ?? null,
          before_id: Number(row.id),
          message: `row${seq - expected > 1 ? `s ${expected}-${seq - 1}` : ` ${expected}`} of the chain ${seq - expected > 1 ? "are" : "is"} missing, between ${prev ? `id ${prev.id}` : "the start"} and id ${row.id}`,
        } satisfies AuditProblem,
      };
    }
    if (!macMatches(rowMac(key, row, row.seq!, prev?.mac ?? null), row.mac)) {
      const from = await movedFrom(db, key, chain, row, prev?.mac ?? null);
      return {
        checked,
        firstId,
        last: prev,
        problem: (from !== null
          ? { what: "reordered", seq, id: Number(row.id), moved_from_id: from, message: `row ${seq} (id ${row.id}) holds what was sealed as id ${from}: rows were swapped or moved` }
          : { what: "edited", seq, id: Number(row.id), message: `row ${seq} (id ${row.id}) was edited: its MAC does not match its content` }) satisfies AuditProblem,
      };
    }
    prev = { seq, id: Number(row.id), mac: row.mac! };
    checked += 1;
    if (checked % 10_000 === 0) progress(checked);
  }
  progress(checked);
  return { checked, firstId, last: prev, problem: null };
}

/**
 * Whether a row that fails its MAC is another row's, moved: its content
 * signed at another row's position, or its whole sealed row under another id.
 * Run once per broken chain, so a full scan is fine.
 */
async function movedFrom(db: Db, key: SecretKey, chain: string, bad: ChainRow, prevMac: string | null): Promise<number | null> {
  let before: string | null = null;
  for await (const other of chainRows(db, chain)) {
    if (other.id !== bad.id) {
      if (macMatches(rowMac(key, { ...bad, id: other.id }, bad.seq!, prevMac), bad.mac)) return Number(other.id);
      if (macMatches(rowMac(key, { ...bad, id: other.id }, other.seq!, before), other.mac)) return Number(other.id);
    }
    before = other.mac;
  }
  return null;
}

interface Unsealed {
  count: number;
  overdue: number;
  firstOverdue: number | null;
  /** Unsealed rows older than the chain's sealed head (by more than the grace): stripped of their seals. */
  beforeHead: number;
  firstBeforeHead: number | null;
}

/** Per chain, its unsealed rows: how many, how many past the grace period, how many older than its head. */
async function unsealedRows(db: Db, graceMs: number): Promise<Map<string, Unsealed>> {
  const grace = sql`${graceMs} * interval '1 millisecond'`;
  const rows = resultRows<{ chain: string; n: string; overdue: string; first_overdue: string | null; before_head: string; first_before_head: string | null }>(
    await db.execute(sql`
      select coalesce(a.workspace_id, '') as chain, count(*)::text as n,
        count(*) filter (where a.created_at < now() - ${grace})::text as overdue,
        (min(a.id) filter (where a.created_at < now() - ${grace}))::text as first_overdue,
        count(*) filter (where a.created_at < hr.created_at - ${grace})::text as before_head,
        (min(a.id) filter (where a.created_at < hr.created_at - ${grace}))::text as first_before_head
      from audit_log a
        left join audit_chain_heads h on h.chain = coalesce(a.workspace_id, '')
        left join audit_log hr on hr.id = h.last_id
      where a.chain_seq is null group by 1`),
  );
  const id = (text: string | null) => (text === null ? null : Number(text));
  return new Map(
    rows.map((r) => [
      r.chain,
      { count: Number(r.n), overdue: Number(r.overdue), firstOverdue: id(r.first_overdue), beforeHead: Number(r.before_head), firstBeforeHead: id(r.first_before_head) },
    ]),
  );
}

/** A gap in the chain where the missing rows are still there, unsealed: their seals were removed. */
function strippedAt(gap: AuditProblem, pending: Unsealed): AuditProblem {
  return {
    what: "unsealed",
    seq: gap.seq,
    id: pending.firstBeforeHead,
    after_id: gap.after_id ?? null,
    ...(gap.before_id !== undefined ? { before_id: gap.before_id } : {}),
    message: `unsealed row before the head: the chain skips from ${gap.after_id ? `id ${gap.after_id}` : "the start"} to id ${gap.before_id} at row ${gap.seq}, and ${pending.beforeHead} row(s) older than its head have no seal (first id ${pending.firstBeforeHead}): their seals were removed`,
  };
}
