import { sql, type SQL } from "drizzle-orm";
import type { Db, Logger } from "@switchyard/core";
import type { Keyring, SecretKey } from "@switchyard/crypto";
import { resultRows } from "@switchyard/db";
import { CHAIN_ROW_COLUMNS, headMac, macMatches, rowMac, type ChainHead, type ChainRow } from "./chain-row.ts";
import { CHAIN_STARTED, insertAttestation, readAttestations, unattestedChains } from "./attest.ts";
import { sealingAuditKey } from "./key.ts";

// One sealer at a time across every process sharing the database; the others
// skip the pass (try-lock) instead of queueing behind it.
const SEALER_LOCK = sql.raw("pg_try_advisory_xact_lock(1937340777, 19)");

/**
 * How long a row may stay unsealed before its absence of a seal is itself a
 * finding. The sealer runs every second; a row only misses a pass while the
 * transaction that wrote it is still open (it then takes the chain's next
 * position), so a row older than this that is unsealed, and older than the
 * chain's sealed head, lost its seal: it is left for `audit verify` to report,
 * never resealed.
 */
export const UNSEALED_GRACE_MS = 5 * 60_000;

export interface SealPass {
  /** Rows chained by this pass (chain starts it recorded not counted: see `attested`). */
  sealed: number;
  /** Chain starts recorded (and sealed) in the global chain by this pass. */
  attested: number;
  /** Another process held the sealer lock; nothing was done. */
  busy: boolean;
  /** Chains whose checkpoint or start did not check out: left unsealed, for `audit verify` to report. */
  refused: { chain: string; reason: string }[];
  /** Chains with unsealed rows older than their sealed head: those rows are left as they are, the rest is sealed. */
  held: { chain: string; reason: string }[];
  /** The checkpoints this pass wrote. */
  heads: ChainHead[];
}

/** What a sealer remembers between passes. */
export interface SealerMemo {
  /** Chains sealed before chain starts were recorded have had theirs recorded. */
  backfilled: boolean;
}

/**
 * Chains every audit row not yet sealed, oldest id first, `batch` rows per
 * transaction until none are left. Each row gets the next position of its
 * workspace's chain and a MAC over its content and the previous row's MAC;
 * each chain's checkpoint moves to its new last row, in the same transaction.
 *
 * A row whose transaction commits late (a lower id after higher ones were
 * sealed) simply takes the next position: the chain's order is the order of
 * sealing, which `chain_seq` records, not the order of ids. A row older than
 * its chain's head by more than `graceMs` is not late but stripped of its
 * seal, and is never sealed again (`held`). A chain with no checkpoint is
 * started only if it never was (no sealed row, no start on record), and its
 * start is recorded in the global chain (attest.ts) in the same transaction.
 *
 * @example
 * await sealAudit(database.db, () => sealingAuditKey(database.db, keyring));
 */
export async function sealAudit(
  db: Db,
  key: () => Promise<SecretKey>,
  options: { batch?: number; graceMs?: number; memo?: SealerMemo } = {},
): Promise<SealPass> {
  const batch = options.batch ?? 1000;
  const grace = sql`${options.graceMs ?? UNSEALED_GRACE_MS} * interval '1 millisecond'`;
  const memo = options.memo ?? { backfilled: false };
  const pass: SealPass = { sealed: 0, attested: 0, busy: false, refused: [], held: [], heads: [] };
  const refused = new Set<string>();
  // The key is read before the transaction, on `db`: on PGlite (one
  // connection) a read beside an open transaction would wait for it forever,
  // and a key created inside a transaction that rolls back would be cached
  // by the caller without ever being stored.
  const [pending] = resultRows<{ any: boolean }>(await db.execute(sql`select exists (select 1 from audit_log where chain_seq is null) as any`));
  if (!memo.backfilled && (await unattestedChains(db)).length === 0) memo.backfilled = true;
  if (!pending?.any && memo.backfilled) return pass;
  pass.held = await heldRows(db, grace);
  const macKey = await key();
  for (;;) {
    const step = await db.transaction(async (tx) => {
      const [lock] = resultRows<{ locked: boolean }>(await tx.execute(sql`select ${SEALER_LOCK} as locked`));
      if (!lock?.locked) return null;
      const backfill = memo.backfilled ? [] : await unattestedChains(tx);
      // `a.id`, not `id`: that would be the select list's text column, ordering 10 before 2.
      const rows = resultRows<ChainRow>(
        await tx.execute(sql`
          select ${CHAIN_ROW_COLUMNS} from audit_log a
          where chain_seq is null and coalesce(workspace_id, '') not in (select jsonb_array_elements_text(${JSON.stringify([...refused])}::jsonb))
            and not exists (
              select 1 from audit_chain_heads h join audit_log hr on hr.id = h.last_id
              where h.chain = coalesce(a.workspace_id, '') and a.created_at < hr.created_at - ${grace})
          order by a.id limit ${batch}`),
      );
      const chains = [...new Set([...rows.map((row) => row.chain), ...backfill])];
      if (chains.length === 0) return { sealed: 0, attested: 0, heads: [] as ChainHead[], more: false };
      const heads = await loadHeads(tx, [...chains, ""]);
      const status = new Map<string, "extend" | "start" | "refused">();
      const refuse = (chain: string, reason: string) => {
        status.set(chain, "refused");
        refused.add(chain);
        pass.refused.push({ chain, reason });
      };
      const usable = async (chain: string): Promise<boolean> => {
        const known = status.get(chain);
        if (known) return known !== "refused";
        const head = heads.get(chain);
        const problem = head ? await checkHead(tx, macKey, head) : await checkStart(tx, chain);
        if (problem) {
          refuse(chain, problem);
          return false;
        }
        status.set(chain, head ? "extend" : "start");
        // A workspace chain starts only if its start can be recorded.
        if (!head && chain !== "" && !(await usable(""))) {
          refuse(chain, "its start must be recorded in the global chain, which is not being sealed");
          return false;
        }
        return true;
      };
      for (const chain of chains) await usable(chain);

      const chainer = chainWriter(macKey, heads);
      const starts: { chain: string; firstRow: number; backfilled: boolean }[] = [];
      for (const row of rows) {
        const state = status.get(row.chain);
        if (state === "refused" || state === undefined) continue;
        if (state === "start" && row.chain !== "" && !chainer.moved.has(row.chain)) starts.push({ chain: row.chain, firstRow: Number(row.id), backfilled: false });
        chainer.seal(row);
      }
      for (const chain of backfill) {
        if (status.get(chain) !== "extend") continue;
        const [first] = resultRows<{ id: string }>(
          await tx.execute(sql`select id::text as id from audit_log where coalesce(workspace_id, '') = ${chain} and chain_seq = 1`),
        );
        // A chain without its first row is broken; verify says where, and it gets no start on record.
        if (first) starts.push({ chain, firstRow: Number(first.id), backfilled: true });
      }
      for (const start of starts) chainer.seal(await insertAttestation(tx, start.chain, start.firstRow, start.backfilled));
      if (chainer.updates.length > 0) {
        await tx.execute(sql`
          update audit_log a set chain_seq = v.seq, chain_mac = decode(v.mac, 'hex')
          from jsonb_to_recordset(${JSON.stringify(chainer.updates)}::jsonb) as v(id bigint, seq bigint, mac text)
          where a.id = v.id and a.chain_seq is null`);
      }
      const written = await writeHeads(tx, macKey, [...chainer.moved.values()]);
      return { sealed: chainer.updates.length - starts.length, attested: starts.length, heads: written, more: rows.length === batch };
    });
    if (!step) {
      pass.busy = true;
      return pass;
    }
    memo.backfilled = true;
    pass.sealed += step.sealed;
    pass.attested += step.attested;
    for (const head of step.heads) {
      const at = pass.heads.findIndex((h) => h.chain === head.chain);
      if (at >= 0) pass.heads[at] = head;
      else pass.heads.push(head);
    }
    // Each step seals a row or refuses a chain, so this ends.
    if (!step.more) return pass;
  }
}

/** Positions and MACs for rows in the order given, each chain continuing from its head. */
function chainWriter(macKey: SecretKey, heads: Map<string, ChainHead>) {
  const updates: { id: string; seq: string; mac: string }[] = [];
  const moved = new Map<string, ChainHead>();
  return {
    updates,
    moved,
    seal(row: ChainRow) {
      const head = moved.get(row.chain) ?? heads.get(row.chain) ?? null;
      const seq = String((head?.seq ?? 0) + 1);
      const mac = rowMac(macKey, row, seq, head?.lastMac ?? null).toString("hex");
      updates.push({ id: row.id, seq, mac });
      moved.set(row.chain, { chain: row.chain, seq: Number(seq), lastId: Number(row.id), lastMac: mac, sealedAt: new Date(), keyId: macKey.id });
    },
  };
}

async function writeHeads(tx: Db, macKey: SecretKey, moved: ChainHead[]): Promise<ChainHead[]> {
  if (moved.length === 0) return [];
  const sealedAt = new Date();
  const written = moved.map((h) => ({ ...h, sealedAt }));
  const values = written.map((h) => ({
    chain: h.chain,
    seq: h.seq,
    last_id: h.lastId,
    last_mac: h.lastMac,
    sealed_at: h.sealedAt.toISOString(),
    key_id: h.keyId,
    mac: headMac(macKey, h).toString("hex"),
  }));
  await tx.execute(sql`
    insert into audit_chain_heads (chain, seq, last_id, last_mac, sealed_at, key_id, mac)
    select v.chain, v.seq, v.last_id, decode(v.last_mac, 'hex'), v.sealed_at, v.key_id, decode(v.mac, 'hex')
    from jsonb_to_recordset(${JSON.stringify(values)}::jsonb) as v(chain text, seq bigint, last_id bigint, last_mac text, sealed_at timestamptz, key_id text, mac text)
    on conflict (chain) do update set seq = excluded.seq, last_id = excluded.last_id, last_mac = excluded.last_mac,
      sealed_at = excluded.sealed_at, key_id = excluded.key_id, mac = excluded.mac`);
  return written;
}

/** Chains holding unsealed rows older than their sealed head (by more than the grace): seals removed. */
async function heldRows(db: Db, grace: SQL): Promise<{ chain: string; reason: string }[]> {
  const rows = resultRows<{ chain: string; n: string; first: string }>(
    await db.execute(sql`
      select h.chain, count(*)::text as n, min(a.id)::text as first
      from audit_log a join audit_chain_heads h on h.chain = coalesce(a.workspace_id, '') join audit_log hr on hr.id = h.last_id
      where a.chain_seq is null and a.created_at < hr.created_at - ${grace}
      group by 1 order by 1`),
  );
  return rows.map((r) => ({
    chain: r.chain,
    reason: `${r.n} unsealed row(s) before the head (first id ${r.first}): written before rows already sealed, so their seals were removed; left unsealed`,
  }));
}

/**
 * A chain without a checkpoint starts afresh only if it never started: no
 * sealed row, and (a workspace's) no start on record in the global chain, or
 * (the global chain) no workspace start recorded in it. Otherwise its
 * checkpoint was deleted, and starting over would seal whatever was done to
 * its rows as genuine.
 */
async function checkStart(tx: Db, chain: string): Promise<string | null> {
  const [sealed] = resultRows<{ any: boolean }>(
    await tx.execute(sql`select exists (select 1 from audit_log where coalesce(workspace_id, '') = ${chain} and chain_seq is not null) as any`),
  );
  if (sealed?.any) return "chain head missing: it has sealed rows but no checkpoint (deleted)";
  if (chain === "") {
    const [any] = resultRows<{ any: boolean }>(
      await tx.execute(sql`select exists (select 1 from audit_log where workspace_id is null and action = ${CHAIN_STARTED}) as any`),
    );
    if (any?.any) return "chain head missing: the global chain records chain starts but has no checkpoint (its seals were removed)";
    return null;
  }
  const [started] = await readAttestations(tx, chain);
  if (started) return `chain head missing: the chain was started before (global row id ${started.id}, first row id ${started.firstRow}) and has lost its checkpoint; it is not started again`;
  return null;
}

async function loadHeads(tx: Db, chains: string[]): Promise<Map<string, ChainHead & { mac: string }>> {
  const rows = resultRows<{ chain: string; seq: string; last_id: string; last_mac: string; sealed_at: string; key_id: string; mac: string }>(
    await tx.execute(sql`
      select chain, seq::text as seq, last_id::text as last_id, encode(last_mac, 'hex') as last_mac,
        to_char(sealed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as sealed_at, key_id, encode(mac, 'hex') as mac
      from audit_chain_heads where chain in (select jsonb_array_elements_text(${JSON.stringify(chains)}::jsonb))`),
  );
  return new Map(rows.map((r) => [r.chain, { chain: r.chain, seq: Number(r.seq), lastId: Number(r.last_id), lastMac: r.last_mac, sealedAt: new Date(r.sealed_at), keyId: r.key_id, mac: r.mac }]));
}

/**
 * The sealer extends a chain only from a checkpoint it signed whose last row
 * is still there as signed: extending a forged or cut chain would bless the
 * tampering. Such a chain is left unsealed and logged; `audit verify` says
 * where it broke.
 */
async function checkHead(tx: Db, key: SecretKey, head: ChainHead & { mac?: string }): Promise<string | null> {
  if (!macMatches(headMac(key, head), head.mac ?? null)) return "its checkpoint's MAC does not match (edited, or signed by another key)";
  const [last] = resultRows<{ seq: string | null; mac: string | null }>(
    await tx.execute(sql`select chain_seq::text as seq, encode(chain_mac, 'hex') as mac from audit_log where id = ${head.lastId}`),
  );
  if (!last) return `its checkpoint's last row (id ${head.lastId}) is missing: the tail was cut`;
  if (last.seq !== String(head.seq) || last.mac !== head.lastMac) return `its checkpoint's last row (id ${head.lastId}) was changed`;
  return null;
}

export interface AuditSealer {
  start(): void;
  /** One pass now (tests, shutdown). */
  sealNow(): Promise<SealPass>;
  /** Stops the timer and seals what is left. */
  stop(): Promise<void>;
}

/**
 * Seals the audit log every `intervalMs` in the background. Writers never
 * wait for it: their insert is the same single statement as before, and the
 * sealer takes no lock they need (it updates rows that have committed). It
 * logs each chain's checkpoint at most every `checkpointLogMs` (and at stop),
 * so an operator who ships the log keeps a copy of the heads outside the
 * database.
 */
export function createAuditSealer(options: {
  db: Db;
  keyring: Keyring;
  logger: Logger;
  intervalMs?: number;
  checkpointLogMs?: number;
  graceMs?: number;
}): AuditSealer {
  const { db, keyring, logger } = options;
  const intervalMs = options.intervalMs ?? 1000;
  const checkpointLogMs = options.checkpointLogMs ?? 60_000;
  let key: SecretKey | null = null;
  const loadKey = async () => (key ??= await sealingAuditKey(db, keyring));
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<SealPass> | null = null;
  let stopped = false;
  const unlogged = new Map<string, ChainHead>();
  let lastLogged = 0;
  const warned = new Set<string>();
  const warnedHeld = new Set<string>();

  function logCheckpoints(force: boolean) {
    if (unlogged.size === 0 || (!force && Date.now() - lastLogged < checkpointLogMs)) return;
    lastLogged = Date.now();
    for (const head of unlogged.values()) {
      logger.info(
        { chain: head.chain || "(global)", seq: head.seq, lastId: head.lastId, lastMac: head.lastMac, sealedAt: head.sealedAt.toISOString() },
        "audit checkpoint",
      );
    }
    unlogged.clear();
  }

  const memo: SealerMemo = { backfilled: false };

  function pass(): Promise<SealPass> {
    running ??= sealAudit(db, loadKey, { memo, ...(options.graceMs !== undefined ? { graceMs: options.graceMs } : {}) })
      .then((result) => {
        for (const head of result.heads) unlogged.set(head.chain, head);
        // Each said once per chain per process: it stays broken until someone looks.
        for (const refusal of result.refused) {
          if (warned.has(refusal.chain)) continue;
          warned.add(refusal.chain);
          logger.error({ chain: refusal.chain || "(global)", reason: refusal.reason }, "audit chain not sealed: run `switchyard audit verify`");
        }
        for (const held of result.held) {
          if (warnedHeld.has(held.chain)) continue;
          warnedHeld.add(held.chain);
          logger.error({ chain: held.chain || "(global)", reason: held.reason }, "audit rows stripped of their seals are left unsealed: run `switchyard audit verify`");
        }
        logCheckpoints(false);
        return result;
      })
      .finally(() => {
        running = null;
      });
    return running;
  }

  function schedule() {
    if (stopped) return;
    timer = setTimeout(() => {
      pass().then(
        () => schedule(),
        (error: unknown) => {
          logger.warn({ err: error }, "audit sealing failed; retrying");
          schedule();
        },
      );
    }, intervalMs);
    timer.unref();
  }

  return {
    start() {
      stopped = false;
      schedule();
    },
    sealNow: pass,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
      await pass().catch((error: unknown) => logger.warn({ err: error }, "audit sealing at shutdown failed"));
      logCheckpoints(true);
    },
  };
}
