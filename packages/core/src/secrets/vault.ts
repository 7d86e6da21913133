import { and, eq, lte } from "drizzle-orm";
import { open, seal, type Keyring, type SecretKey } from "@switchyard/crypto";
import { notifyIn, secrets, secretVersions, type Database, type Db } from "@switchyard/db";
import { recordAudit, type AuditEntry } from "../audit.ts";
import { createDataKeyStore, type DataKeyStore, type ScopeRef } from "../data-keys.ts";
import { SwitchyardError } from "../errors.ts";
import { newId } from "../ids.ts";
import type { Logger } from "../logger.ts";
import type { Principal } from "../principal.ts";
import type { SecretChangeAction } from "../secret-events/events.ts";
import { publishSecretChanges } from "../secret-events/publish.ts";
import { sameBinding } from "./binding.ts";
import { SealedCache, scopeKey, type SealedRow } from "./sealed-cache.ts";
import { secretAuditFields, type Target } from "./target.ts";
import { decodeValue, secretAad } from "./values.ts";

/** What opening a sealed value needs: where it is stored, under which key, with which binding. */
export type OpenableRow = Pick<SealedRow, "name" | "version" | "ciphertext" | "dataKeyId" | "boundHosts">;

/** NOTIFY channel on which every secret write announces its scope, so other processes drop their cache. */
export const SECRETS_CHANNEL = "switchyard_secrets";

export interface VaultOptions {
  database: Database;
  keyring: Keyring;
  /** Largest value (its JSON) in bytes. */
  maxBytes?: number;
  /** Versions kept per secret; older ones are pruned on write. */
  versionsKept?: number;
  /** Backstop lifetime of cached sealed rows when a NOTIFY is missed. */
  cacheTtlMs?: number;
  logger?: Logger;
}

/**
 * The shared machinery of the secrets service: sealing and opening with the
 * scope's data key, the sealed-row cache and its cross-process invalidation,
 * and writing a version. Admin operations and the script read path are built on it.
 */
export class Vault {
  readonly db: Db;
  readonly dataKeys: DataKeyStore;
  readonly cache: SealedCache;
  readonly maxBytes: number;
  readonly versionsKept: number;
  private stopListening: (() => Promise<void>) | null = null;

  constructor(readonly options: VaultOptions) {
    this.db = options.database.db;
    this.dataKeys = createDataKeyStore({ keyring: options.keyring });
    this.cache = new SealedCache(options.cacheTtlMs ?? 30_000);
    this.maxBytes = options.maxBytes ?? 65_536;
    this.versionsKept = options.versionsKept ?? 20;
  }

  /** Subscribes to invalidations from other processes. */
  async start(): Promise<void> {
    if (this.stopListening) return;
    this.stopListening = await this.options.database.listen(SECRETS_CHANNEL, (payload) => {
      const [scope, ...rest] = payload.split(":");
      if (scope === "global" || scope === "workspace" || scope === "app") this.cache.invalidate({ scope, scopeId: rest.join(":") });
      else this.cache.clear();
    });
  }

  async stop(): Promise<void> {
    await this.stopListening?.();
    this.stopListening = null;
  }

  /**
   * Opens a sealed row's value. A row that does not open is refused, never
   * skipped; that includes a bound row whose stored binding is not the one
   * sealed into its associated data (stripped, widened, or not a list of hosts).
   */
  async openRow(ref: ScopeRef, row: OpenableRow, db: Db = this.db): Promise<unknown> {
    try {
      const key = await this.dataKeys.find(db, ref);
      if (!key || key.id !== row.dataKeyId) throw new Error(`data key ${row.dataKeyId} is not the scope's key`);
      const bound: unknown = row.boundHosts;
      if (bound !== null && !(Array.isArray(bound) && bound.every((h) => typeof h === "string"))) throw new Error("the stored binding is not a list of hosts");
      return decodeValue(open(key, row.ciphertext, secretAad(ref, row.name, row.version, row.boundHosts)));
    } catch (error) {
      this.options.logger?.error({ err: error, scope: ref.scope, scopeId: ref.scopeId, name: row.name }, "a secret failed to open");
      throw new SwitchyardError("decrypt_failed", `secret ${row.name} could not be decrypted`, { cause: error });
    }
  }

  /** The current row of `name` in one scope, read from the database (admin views need no cache). */
  async currentRow(db: Db, ref: ScopeRef, name: string, forUpdate = false): Promise<SealedRow | undefined> {
    const query = db
      .select()
      .from(secrets)
      .where(and(eq(secrets.scope, ref.scope), eq(secrets.scopeId, ref.scopeId), eq(secrets.name, name)));
    const [row] = await (forUpdate ? query.for("update") : query);
    return row;
  }

  /**
   * Writes `json` as the next version of `name` in the target's own scope,
   * inside `tx`, with its audit row and a NOTIFY that is sent on commit.
   * `boundHosts` (canonical, or null for none) is the version's binding;
   * undefined keeps the current version's, so a new value never silently
   * unbinds. The audit row names the binding of a bound version, and says
   * `binding_changed` when it differs from the version before. The change is
   * announced to `secret_changed` triggers and operator webhooks in `tx`.
   */
  async writeVersion(
    tx: Db,
    key: SecretKey,
    principal: Principal,
    target: Target,
    name: string,
    json: Buffer,
    origin: string,
    audit: Omit<AuditEntry, "outcome" | "name" | "version" | "scope" | "scopeId" | "appId" | "workspaceId">,
    boundHosts?: string[] | null,
  ): Promise<{ created: boolean; row: SealedRow }> {
    const ref = target.own;
    const existing = await this.currentRow(tx, ref, name, true);
    const version = (existing?.version ?? 0) + 1;
    const before = existing?.boundHosts ?? null;
    const binding = boundHosts === undefined ? before : boundHosts;
    const ciphertext = seal(key, json, secretAad(ref, name, version, binding));
    const fields = { version, ciphertext, dataKeyId: key.id, size: json.length, boundHosts: binding, updatedAt: new Date(), updatedBy: principal.id };
    let row: SealedRow | undefined;
    if (existing) {
      [row] = await tx.update(secrets).set(fields).where(eq(secrets.id, existing.id)).returning();
    } else {
      [row] = await tx
        .insert(secrets)
        .values({ id: newId("sec"), ...ref, name, ...fields })
        .onConflictDoNothing()
        .returning();
      // Someone created it between our read and insert: their row is locked
      // for us now, so go round once more as an update.
      if (!row) return this.writeVersion(tx, key, principal, target, name, json, origin, audit, boundHosts);
    }
    if (!row) throw new Error("secret row vanished during write");
    await tx.insert(secretVersions).values({
      secretId: row.id,
      version,
      ciphertext,
      dataKeyId: key.id,
      size: json.length,
      boundHosts: binding,
      createdBy: principal.id,
      origin,
    });
    await tx
      .delete(secretVersions)
      .where(and(eq(secretVersions.secretId, row.id), lte(secretVersions.version, version - this.versionsKept)));
    // Hosts are metadata (never values): the audit row says where the value may go.
    const changed = !sameBinding(before, binding);
    const details = changed || binding ? { ...audit.details, bound_hosts: binding, ...(changed ? { binding_changed: true } : {}) } : audit.details;
    await recordAudit(tx, principal, { ...audit, details, outcome: "ok", ...secretAuditFields(target, ref, name, version) });
    const action: SecretChangeAction = !existing ? "created" : origin.startsWith("rollback:") ? "rolled_back" : changed ? "binding_changed" : "updated";
    await publishSecretChanges(tx, [{ name, ...ref, version, action, actor: principal, workspaceId: target.workspaceId }]);
    await this.notify(tx, ref);
    return { created: !existing, row };
  }

  /** Announces a change of `ref` to every process; PostgreSQL delivers it when `tx` commits. */
  async notify(tx: Db, ref: ScopeRef): Promise<void> {
    await notifyIn(tx, SECRETS_CHANNEL, scopeKey(ref));
  }

  /**
   * Runs a write to the target's own scope in one transaction, handing it the
   * scope's data key, then drops our own cache (other processes drop theirs on
   * the NOTIFY sent at commit). The data key is fetched before the transaction:
   * a key created inside one that rolls back must never sit in the cache, and
   * PGlite's single connection would deadlock on a second query outside `tx`.
   */
  async write<T>(target: Target, fn: (tx: Db, key: SecretKey) => Promise<T>): Promise<T> {
    const key = await this.dataKeys.getOrCreate(this.db, target.own);
    try {
      return await this.db.transaction((tx) => fn(tx, key));
    } finally {
      this.cache.invalidate(target.own);
    }
  }
}
