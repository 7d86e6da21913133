import { and, eq, inArray, sql } from "drizzle-orm";
import { seal, type SecretKey } from "@switchyard/crypto";
import { secrets, secretVersions, type Db } from "@switchyard/db";
import { recordAuditBatch, type AuditEntry } from "../audit.ts";
import { SwitchyardError } from "../errors.ts";
import { newId } from "../ids.ts";
import { hasScope, type Principal } from "../principal.ts";
import { publishSecretChanges } from "../secret-events/publish.ts";
import { parseDotenv, type DotenvEntry } from "./dotenv.ts";
import type { SealedRow } from "./sealed-cache.ts";
import { secretAuditFields, type Target } from "./target.ts";
import { encodeValue, secretAad } from "./values.ts";
import type { Vault } from "./vault.ts";

/** Entries one import may hold (API.md); a larger file is refused whole with 413. */
export const MAX_IMPORT_ENTRIES = 5_000;

// Rows per statement. 1,000 rows of the widest table (audit_log, 11 columns)
// stay far below PostgreSQL's 65,535 bind parameters, and a 5,000-entry import
// is a few dozen statements, not the six round trips per entry it used to be
// (3,000 lines took 12.8 s on PGlite, holding its only connection throughout).
const ROWS_PER_STATEMENT = 1_000;

/**
 * `created`, `updated`, `unchanged` (same value; nothing written), or, in a
 * dry run by a token without `secrets:reveal`, `would_set`: the name exists
 * and the value is not compared, since a comparison would confirm guesses.
 */
export type ImportStatus = "created" | "updated" | "unchanged" | "would_set";

export interface ImportReport {
  dry_run: boolean;
  results: { name: string; status: ImportStatus; line: number }[];
  created: number;
  updated: number;
  unchanged: number;
  would_set: number;
}

interface Planned extends DotenvEntry {
  json: Buffer;
  status: ImportStatus;
  /** The row the status was decided on; a write goes ahead only if it is still the current one. */
  seen: SealedRow | undefined;
}

/**
 * Imports dotenv text into the target's own scope, all or nothing. Statuses
 * are decided and values sealed before the transaction, which then only
 * locks, checks nothing moved meanwhile, and writes in batched statements, so
 * it holds the database (PGlite's only connection) briefly. Only a principal
 * that may reveal has values compared (`unchanged`); for any other, an
 * existing name is written again (or, in a dry run, answered `would_set`).
 * Dry runs are audited too, one `secret.import_preview` row per name. Each
 * name keeps its binding: a host-bound secret stays bound to the same hosts.
 */
export async function importDotenv(vault: Vault, principal: Principal, target: Target, text: string, dryRun: boolean): Promise<ImportReport> {
  const entries = parseDotenv(text);
  if (entries.length > MAX_IMPORT_ENTRIES) {
    throw new SwitchyardError("too_large", `the file sets ${entries.length} names; one import may set at most ${MAX_IMPORT_ENTRIES}`, {
      details: { limit: MAX_IMPORT_ENTRIES, entries: entries.length },
    });
  }
  const encoded = entries.map((entry) => ({ ...entry, json: encodeValue(entry.value, vault.maxBytes) }));
  const decide = statusDecider(vault, target, hasScope(principal, "secrets:reveal"), dryRun);
  const seen = await currentRows(vault.db, target, encoded.map((e) => e.name), false);
  const planned: Planned[] = [];
  for (const entry of encoded) planned.push({ ...entry, seen: seen.get(entry.name), status: await decide(entry, seen.get(entry.name), vault.db) });

  if (dryRun) {
    await recordAuditBatch(
      vault.db,
      principal,
      planned.map((p) => auditOf(target, p.name, p.seen?.version ?? null, "secret.import_preview", { status: p.status, line: p.line })),
    );
  } else {
    const key = await vault.dataKeys.getOrCreate(vault.db, target.own);
    const sealed = planned.filter(needsWrite).map((p) => sealNext(key, target, p));
    await vault.write(target, async (tx, txKey) => {
      const locked = await currentRows(tx, target, encoded.map((e) => e.name), true);
      // What moved since it was decided (another writer got there first) is decided again under the lock, one at a time.
      const moved = (p: Planned) => txKey.id !== key.id || locked.get(p.name)?.version !== p.seen?.version;
      const raced = await writeBatched(vault, tx, txKey, principal, target, sealed.filter((s) => !moved(s.entry)));
      for (const p of [...planned.filter(moved), ...raced]) {
        p.status = await decide(p, await vault.currentRow(tx, target.own, p.name, true), tx);
        if (!needsWrite(p)) continue;
        await vault.writeVersion(tx, txKey, principal, target, p.name, p.json, "import", {
          action: "secret.import",
          details: { status: p.status, line: p.line },
        });
      }
    });
  }
  const results = planned.map(({ name, status, line }) => ({ name, status, line }));
  const count = (status: ImportStatus) => results.filter((r) => r.status === status).length;
  return { dry_run: dryRun, results, created: count("created"), updated: count("updated"), unchanged: count("unchanged"), would_set: count("would_set") };
}

const needsWrite = (p: Planned) => p.status === "created" || p.status === "updated";

/** How an entry's status is decided against the row it would replace; only a revealer's import compares values. */
function statusDecider(vault: Vault, target: Target, compare: boolean, dryRun: boolean) {
  return async (entry: { json: Buffer }, row: SealedRow | undefined, db: Db): Promise<ImportStatus> => {
    if (!row) return "created";
    if (!compare) return dryRun ? "would_set" : "updated";
    const same = JSON.stringify(await vault.openRow(target.own, row, db)) === entry.json.toString("utf8");
    return same ? "unchanged" : "updated";
  };
}

/** The next version of an entry, sealed with the binding of the row it replaces: an import keeps each name's binding. */
function sealNext(key: SecretKey, target: Target, entry: Planned) {
  const version = (entry.seen?.version ?? 0) + 1;
  const boundHosts = entry.seen?.boundHosts ?? null;
  return { entry, version, boundHosts, ciphertext: seal(key, entry.json, secretAad(target.own, entry.name, version, boundHosts)), size: entry.json.length };
}

/** The target's current rows of `names`, locked until the transaction ends when `lock`. */
async function currentRows(db: Db, target: Target, names: string[], lock: boolean): Promise<Map<string, SealedRow>> {
  const found = new Map<string, SealedRow>();
  for (const batch of chunks(names)) {
    const query = db
      .select()
      .from(secrets)
      .where(and(eq(secrets.scope, target.own.scope), eq(secrets.scopeId, target.own.scopeId), inArray(secrets.name, batch)));
    for (const row of await (lock ? query.for("update") : query)) found.set(row.name, row);
  }
  return found;
}

/**
 * Writes sealed next versions under the lock taken by the caller: per batch,
 * one upsert, one version insert, one prune and one audit insert, then one
 * NOTIFY for the scope. The upsert is a compare-and-set on the version: a name
 * someone else created after the lock (no row to lock then) is not written and
 * is answered back, for the caller to decide again.
 */
async function writeBatched(
  vault: Vault,
  tx: Db,
  key: SecretKey,
  principal: Principal,
  target: Target,
  sealed: ReturnType<typeof sealNext>[],
): Promise<Planned[]> {
  const raced: Planned[] = [];
  const ref = target.own;
  const now = new Date();
  for (const batch of chunks(sealed)) {
    const written = await tx
      .insert(secrets)
      .values(
        batch.map((s) => ({
          id: s.entry.seen?.id ?? newId("sec"),
          ...ref,
          name: s.entry.name,
          version: s.version,
          ciphertext: s.ciphertext,
          dataKeyId: key.id,
          size: s.size,
          boundHosts: s.boundHosts,
          updatedAt: now,
          updatedBy: principal.id,
        })),
      )
      .onConflictDoUpdate({
        target: [secrets.scope, secrets.scopeId, secrets.name],
        set: {
          version: sql`excluded.version`,
          ciphertext: sql`excluded.ciphertext`,
          dataKeyId: sql`excluded.data_key_id`,
          size: sql`excluded.size`,
          // The row's own binding, as sealed: the compare-and-set below guarantees it is the row the entry was decided on.
          boundHosts: sql`excluded.bound_hosts`,
          updatedAt: sql`excluded.updated_at`,
          updatedBy: sql`excluded.updated_by`,
        },
        setWhere: sql`${secrets.version} = excluded.version - 1`,
      })
      .returning({ id: secrets.id, name: secrets.name });
    const ids = new Map(written.map((w) => [w.name, w.id]));
    raced.push(...batch.filter((s) => !ids.has(s.entry.name)).map((s) => s.entry));
    const done = batch.filter((s) => ids.has(s.entry.name));
    if (done.length === 0) continue;
    await tx.insert(secretVersions).values(
      done.map((s) => ({
        secretId: ids.get(s.entry.name) ?? "",
        version: s.version,
        ciphertext: s.ciphertext,
        dataKeyId: key.id,
        size: s.size,
        boundHosts: s.boundHosts,
        createdBy: principal.id,
        origin: "import",
      })),
    );
    await tx.execute(sql`
      delete from ${secretVersions} using ${secrets}
      where ${secretVersions.secretId} = ${secrets.id}
        and ${inArray(secrets.id, [...ids.values()])}
        and ${secretVersions.version} <= ${secrets.version} - ${vault.versionsKept}`);
    await recordAuditBatch(
      tx,
      principal,
      done.map((s) => auditOf(target, s.entry.name, s.version, "secret.import", { status: s.entry.status, line: s.entry.line, ...(s.boundHosts ? { bound_hosts: s.boundHosts } : {}) })),
    );
    await publishSecretChanges(
      tx,
      done.map((s) => ({ name: s.entry.name, ...ref, version: s.version, action: s.entry.seen ? "updated" : "created", actor: principal, workspaceId: target.workspaceId })),
    );
  }
  if (sealed.length > raced.length) await vault.notify(tx, ref);
  return raced;
}

function auditOf(target: Target, name: string, version: number | null, action: string, details: Record<string, unknown>): AuditEntry {
  return { action, outcome: "ok", ...secretAuditFields(target, target.own, name, version ?? 0), version, details };
}

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += ROWS_PER_STATEMENT) out.push(items.slice(i, i + ROWS_PER_STATEMENT));
  return out;
}
