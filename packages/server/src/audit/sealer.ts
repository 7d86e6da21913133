import { sql } from "drizzle-orm";
import type { Db, Logger } from "@switchyard/core";
import type { Keyring, SecretKey } from "@switchyard/crypto";
import { resultRows } from "@switchyard/db";
import { CHAIN_ROW_COLUMNS, headMac, macMatches, rowMac, type ChainHead, type ChainRow } from "./chain-row.ts";
import { sealingAuditKey } from "./key.ts";

// One sealer at a time across every process sharing the database; the others
// skip the pass (try-lock) instead of queueing behind it.
const SEALER_LOCK = sql.raw("pg_try_advisory_xact_lock(1937340777, 19)");

export interface SealPass {
  /** Rows chained by this pass. */
  sealed: number;
  /** Another process held the sealer lock; nothing was done. */
  busy: boolean;
  /** Chains whose checkpoint did not check out: left unsealed, for `audit verify` to report. */
  refused: { chain: string; reason: string }[];
  /** The checkpoints this pass wrote. */
  heads: ChainHead[];
}

/**
 * Chains every audit row not yet sealed, oldest id first, `batch` rows per
 * transaction until none are left. Each row gets the next position of its
 * workspace's chain and a MAC over its content and the previous row's MAC;
 * each chain's checkpoint moves to its new last row, in the same transaction.
 *
 * A row whose transaction commits late (a lower id after higher ones were
 * sealed) simply takes the next position: the chain's order is the order of
 * sealing, which `chain_seq` records, not the order of ids.
 *
 * @example
 * await sealAudit(database.db, () => sealingAuditKey(database.db, keyring));
 */
export async function sealAudit(db: Db, key: () => Promise<SecretKey>, options: { batch?: number } = {}): Promise<SealPass> {
  const batch = options.batch ?? 1000;
  const pass: SealPass = { sealed: 0, busy: false, refused: [], heads: [] };
  const refused = new Set<string>();
  // The key is read before the transaction, on `db`: on PGlite (one
  // connection) a read beside an open transaction would wait for it forever,
  // and a key created inside a transaction that rolls back would be cached
  // by the caller without ever being stored.
  const [pending] = resultRows<{ any: boolean }>(await db.execute(sql`select exists (select 1 from audit_log where chain_seq is null) as any`));
  if (!pending?.any) return pass;
  const macKey = await key();
  for (;;) {
    const step = await db.transaction(async (tx) => {
      const [lock] = resultRows<{ locked: boolean }>(await tx.execute(sql`select ${SEALER_LOCK} as locked`));
      if (!lock?.locked) return null;
      const rows = resultRows<ChainRow>(
        await tx.execute(sql`
          select ${CHAIN_ROW_COLUMNS} from audit_log
          where chain_seq is null and coalesce(workspace_id, '') not in (select jsonb_array_elements_text(${JSON.stringify([...refused])}::jsonb))
          order by id limit ${batch}`),
      );
      if (rows.length === 0) return { sealed: 0, heads: [] as ChainHead[], more: false };
      const chains = [...new Set(rows.map((row) => row.chain))];
      const heads = await loadHeads(tx, chains);
      const updates: { id: string; seq: string; mac: string }[] = [];
      const moved = new Map<string, ChainHead>();
      for (const row of rows) {
        if (refused.has(row.chain)) continue;
        let head = moved.get(row.chain) ?? heads.get(row.chain) ?? null;
        if (!moved.has(row.chain) && head) {
          const problem = await checkHead(tx, macKey, head);
          if (problem) {
            refused.add(row.chain);
            pass.refused.push({ chain: row.chain, reason: problem });
            continue;
          }
        }
        const seq = String((head?.seq ?? 0) + 1);
        const mac = rowMac(macKey, row, seq, head?.lastMac ?? null).toString("hex");
        updates.push({ id: row.id, seq, mac });
        head = { chain: row.chain, seq: Number(seq), lastId: Number(row.id), lastMac: mac, sealedAt: new Date(), keyId: macKey.id };
        moved.set(row.chain, head);
      }
      if (updates.length > 0) {
        await tx.execute(sql`
          update audit_log a set chain_seq = v.seq, chain_mac = decode(v.mac, 'hex')
          from jsonb_to_recordset(${JSON.stringify(updates)}::jsonb) as v(id bigint, seq bigint, mac text)
          where a.id = v.id and a.chain_seq is null`);
        const sealedAt = new Date();
        const written = [...moved.values()].map((h) => ({ ...h, sealedAt }));
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
        return { sealed: updates.length, heads: written, more: rows.length === batch };
      }
      return { sealed: 0, heads: [] as ChainHead[], more: rows.length === batch };
    });
    if (!step) {
      pass.busy = true;
      return pass;
    }
    pass.sealed += step.sealed;
    for (const head of step.heads) {
      const at = pass.heads.findIndex((h) => h.chain === head.chain);
      if (at >= 0) pass.heads[at] = head;
      else pass.heads.push(head);
    }
    // Each step seals a row or refuses a chain, so this ends.
    if (!step.more) return pass;
  }
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
export function createAuditSealer(options: { db: Db; keyring: Keyring; logger: Logger; intervalMs?: number; checkpointLogMs?: number }): AuditSealer {
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

  function pass(): Promise<SealPass> {
    running ??= sealAudit(db, loadKey)
      .then((result) => {
        for (const head of result.heads) unlogged.set(head.chain, head);
        for (const refusal of result.refused) {
          // Said once per chain per process: it stays broken until someone looks.
          if (warned.has(refusal.chain)) continue;
          warned.add(refusal.chain);
          logger.error({ chain: refusal.chain || "(global)", reason: refusal.reason }, "audit chain not sealed: run `switchyard audit verify`");
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
