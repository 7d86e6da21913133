import { and, eq, gt, ne, sql } from "drizzle-orm";
import { generateDataKey, unwrapDataKey, wrapDataKey, type Keyring, type SecretKey } from "@switchyard/crypto";
import { dataKeys, type Db } from "@switchyard/db";
import { newId } from "./ids.ts";

export type SecretScope = "global" | "workspace" | "app";

/** A secret scope: global (scopeId ""), one workspace, or one app. */
export interface ScopeRef {
  scope: SecretScope;
  scopeId: string;
}

/** Associated data of a wrapped data key: it opens only as the key of that id and scope. */
export function dataKeyAad(id: string, ref: ScopeRef): string {
  return `switchyard/data-key/v1|${id}|${ref.scope}|${ref.scopeId}`;
}

const cacheKey = (ref: ScopeRef) => `${ref.scope}:${ref.scopeId}`;

export interface DataKeyStore {
  /** The scope's data key, or null when the scope has none yet. */
  find(db: Db, ref: ScopeRef): Promise<SecretKey | null>;
  /** The scope's data key, created (and wrapped by the active master key) on first use. */
  getOrCreate(db: Db, ref: ScopeRef): Promise<SecretKey>;
  /** Caches a scope's key from a row read elsewhere (the read path loads keys with the secrets). */
  prime(ref: ScopeRef, row: { id: string; wrapped: Buffer }): void;
  /** Drops cached keys: one scope's, or all. */
  forget(ref?: ScopeRef): void;
}

/**
 * Per-scope data keys with an in-process cache of unwrapped keys: unwrapping
 * is an AES-GCM open per lookup (in this process, or a round trip to an HSM
 * or KMS), which the read path should not pay each time. Rotation of the
 * master key re-wraps data keys without changing them, so the cache stays
 * valid across it, and across a move from one key provider to another.
 */
export function createDataKeyStore(options: { keyring: Keyring }): DataKeyStore {
  const { keyring } = options;
  const cache = new Map<string, SecretKey>();
  // Unwraps started by prime() and not yet settled: find() awaits them rather
  // than asking the provider a second time for the same key.
  const pending = new Map<string, { id: string; key: Promise<SecretKey> }>();

  function unwrapInto(ref: ScopeRef, row: { id: string; wrapped: Buffer }): Promise<SecretKey> {
    const at = cacheKey(ref);
    const key = unwrapDataKey(keyring, row.id, row.wrapped, dataKeyAad(row.id, ref));
    const entry = { id: row.id, key };
    pending.set(at, entry);
    // A failed unwrap is not cached: the next read asks the provider again
    // (an HSM may be back), and reports the failure itself if it is not.
    key.then(
      (unwrapped) => {
        if (pending.get(at) !== entry) return;
        pending.delete(at);
        cache.set(at, unwrapped);
      },
      () => {
        if (pending.get(at) === entry) pending.delete(at);
      },
    );
    return key;
  }

  async function find(db: Db, ref: ScopeRef): Promise<SecretKey | null> {
    const cached = cache.get(cacheKey(ref));
    if (cached) return cached;
    const inFlight = pending.get(cacheKey(ref));
    if (inFlight) return inFlight.key;
    const [row] = await db
      .select()
      .from(dataKeys)
      .where(and(eq(dataKeys.scope, ref.scope), eq(dataKeys.scopeId, ref.scopeId)));
    if (!row) return null;
    return unwrapInto(ref, row);
  }

  async function getOrCreate(db: Db, ref: ScopeRef): Promise<SecretKey> {
    const existing = await find(db, ref);
    if (existing) return existing;
    const id = newId("dk");
    const key = generateDataKey(id);
    // Two writers may race to create the scope's key: the unique index keeps
    // one, and the loser reads the winner's.
    await db
      .insert(dataKeys)
      .values({
        id,
        ...ref,
        wrapped: await wrapDataKey(keyring, key, dataKeyAad(id, ref)),
        masterKeyId: keyring.activeId,
      })
      .onConflictDoNothing();
    const stored = await find(db, ref);
    if (!stored) throw new Error(`data key for ${cacheKey(ref)} vanished after insert`);
    return stored;
  }

  return {
    find,
    getOrCreate,
    prime(ref, row) {
      const at = cacheKey(ref);
      if (cache.get(at)?.id === row.id || pending.get(at)?.id === row.id) return;
      cache.delete(at);
      // Started now, awaited by the read that follows (find); its failure
      // surfaces there, typed as decrypt_failed, and is handled here too so
      // it is never an unhandled rejection.
      unwrapInto(ref, row).catch(() => undefined);
    },
    forget(ref) {
      if (ref) {
        cache.delete(cacheKey(ref));
        pending.delete(cacheKey(ref));
      } else {
        cache.clear();
        pending.clear();
      }
    },
  };
}

export interface RotationReport {
  /** The master key data keys are moved to (the keyring's active key). */
  target: string;
  /** Data keys already wrapped by the active master key before this run. */
  current: number;
  /** Data keys not under the active key when this run started. */
  pending: number;
  /** Data keys re-wrapped by this run (or that would be, with dryRun). */
  rewrapped: number;
  /** Of those, how many came from each former master key (by id). */
  from: Record<string, number>;
  /** Data keys that could not be re-wrapped, with the reason (e.g. their master key is not in the keyring). */
  failed: { id: string; masterKeyId: string; reason: string }[];
  dryRun: boolean;
}

export interface RotationProgress {
  /** Rows handled so far: re-wrapped or failed. */
  done: number;
  /** Rows that were not under the active key at the start. */
  pending: number;
  rewrapped: number;
  failed: number;
}

/**
 * Re-wraps every data key under the keyring's active master key, whichever
 * provider holds either key (environment key to HSM, HSM key to HSM key).
 * Each row is its own compare-and-set update (`where master_key_id = <old>`),
 * so a run killed half way leaves every row either old-wrapped or new-wrapped,
 * both readable with a keyring that holds both keys; running again finishes
 * the rest.
 */
export async function rotateDataKeys(
  db: Db,
  keyring: Keyring,
  options: { dryRun?: boolean; batchSize?: number; onProgress?: (progress: RotationProgress) => void } = {},
): Promise<RotationReport> {
  const dryRun = options.dryRun ?? false;
  const batchSize = options.batchSize ?? 100;
  const [countRow] = await db
    .select({
      current: sql<number>`count(*) filter (where ${dataKeys.masterKeyId} = ${keyring.activeId})::int`,
      pending: sql<number>`count(*) filter (where ${dataKeys.masterKeyId} <> ${keyring.activeId})::int`,
    })
    .from(dataKeys);
  const report: RotationReport = {
    target: keyring.activeId,
    current: countRow?.current ?? 0,
    pending: countRow?.pending ?? 0,
    rewrapped: 0,
    from: {},
    failed: [],
    dryRun,
  };
  // Keyset paging by id: rows re-wrapped behind us drop out of the filter,
  // and rows that failed are not read twice.
  let after = "";
  for (;;) {
    const batch = await db
      .select()
      .from(dataKeys)
      .where(and(ne(dataKeys.masterKeyId, keyring.activeId), gt(dataKeys.id, after)))
      .orderBy(dataKeys.id)
      .limit(batchSize);
    for (const row of batch) {
      const ref = { scope: row.scope, scopeId: row.scopeId };
      const aad = dataKeyAad(row.id, ref);
      let rewrapped: Buffer;
      try {
        rewrapped = await wrapDataKey(keyring, await unwrapDataKey(keyring, row.id, row.wrapped, aad), aad);
      } catch (error) {
        report.failed.push({ id: row.id, masterKeyId: row.masterKeyId, reason: (error as Error).message });
        options.onProgress?.(progressOf(report));
        continue;
      }
      if (!dryRun) {
        await db
          .update(dataKeys)
          .set({ wrapped: rewrapped, masterKeyId: keyring.activeId, rewrappedAt: new Date() })
          .where(and(eq(dataKeys.id, row.id), eq(dataKeys.masterKeyId, row.masterKeyId)));
      }
      report.rewrapped += 1;
      report.from[row.masterKeyId] = (report.from[row.masterKeyId] ?? 0) + 1;
      options.onProgress?.(progressOf(report));
    }
    const last = batch.at(-1);
    if (!last || batch.length < batchSize) break;
    after = last.id;
  }
  return report;
}

function progressOf(report: RotationReport): RotationProgress {
  return {
    done: report.rewrapped + report.failed.length,
    pending: report.pending,
    rewrapped: report.rewrapped,
    failed: report.failed.length,
  };
}
