import { and, desc, eq, or } from "drizzle-orm";
import { open, seal, sealedKeyId } from "@switchyard/crypto";
import { secrets, secretVersions, type Db } from "@switchyard/db";
import { listAudit, recordAudit, type AuditQuery, type AuditRow } from "../audit.ts";
import type { ScopeRef, SecretScope } from "../data-keys.ts";
import { NotFoundError, SwitchyardError } from "../errors.ts";
import type { Principal } from "../principal.ts";
import { publishSecretChanges } from "../secret-events/publish.ts";
import { canonicalBinding } from "./binding.ts";
import { importDotenv, type ImportReport } from "./import.ts";
import type { InvalidationListener } from "./sealed-cache.ts";
import { mayLoosen, refuseLoosening, rollbackLoosens, setLoosens } from "./loosening.ts";
import { ReadPath, type ResolvedSecret } from "./read-path.ts";
import { authorizeTarget, refuseMissing, type Target, type TargetRef } from "./target.ts";
import { assertSecretName, encodeValue, maskedPreview } from "./values.ts";
import { Vault, type VaultOptions } from "./vault.ts";

export interface SecretListing {
  name: string;
  scope: SecretScope;
  version: number;
  size: number;
  updated_at: Date;
  /** Hosts the value may be sent to; null when scripts may hold the value. */
  bound_hosts: string[] | null;
  /** Farther scopes that also define the name and are overridden by this one. */
  overrides: SecretScope[];
}

export interface SecretMetadata {
  name: string;
  scope: SecretScope;
  version: number;
  size: number;
  created_at: Date;
  updated_at: Date;
  updated_by: string;
  bound_hosts: string[] | null;
  /** Up to 4 characters of an unbound value of 12 or more; none of a bound one (values.ts). */
  preview: string;
}

export interface SetOptions {
  /**
   * Hosts the value may be sent to (`host`, `host:port`, `*.domain`, an IP
   * address with an optional port; at most 20). Undefined keeps the current
   * binding, so a new value never silently unbinds; null or [] unbinds.
   */
  boundHosts?: readonly string[] | null;
}

export type { ImportReport, ImportStatus } from "./import.ts";

/**
 * Scoped, versioned, audited secrets. Admin operations authorize through the
 * principal; the script read path (`resolveSecret`, `listSecretNames`) is for
 * the executor's host, with a run as the actor.
 *
 * @example
 * const secrets = createSecretsService({ database, keyring });
 * await secrets.start();
 * await secrets.set(token, { kind: "app", app: "billing" }, "API_KEY", "sk_live_...");
 * const hit = await secrets.resolveSecret(appId, "API_KEY", { type: "run", id: runId, appId });
 */
export function createSecretsService(options: VaultOptions) {
  const vault = new Vault(options);
  const reads = new ReadPath(vault);
  const db = vault.db;

  async function sealForScope(tx: Db, ref: ScopeRef, aad: string, plaintext: Buffer): Promise<Buffer> {
    const key = await vault.dataKeys.getOrCreate(tx, ref);
    return seal(key, plaintext, aad);
  }

  async function openForScope(ref: ScopeRef, aad: string, sealed: Buffer): Promise<Buffer> {
    try {
      const key = await vault.dataKeys.find(db, ref);
      if (!key || key.id !== sealedKeyId(sealed)) throw new Error("the scope's data key did not seal this value");
      return open(key, sealed, aad);
    } catch (error) {
      options.logger?.error({ err: error, scope: ref.scope, scopeId: ref.scopeId, aad }, "a platform-held secret failed to open");
      throw new SwitchyardError("decrypt_failed", "a stored secret could not be decrypted", { cause: error });
    }
  }

  const authorize = (principal: Principal, ref: TargetRef, need: Parameters<typeof authorizeTarget>[3], action: string, name?: string) => {
    if (name !== undefined) assertSecretName(name);
    return authorizeTarget(db, principal, ref, need, action, name);
  };

  /** The nearest row of `name` along the target's chain (admin views read the database, not the cache). */
  async function nearest(target: Target, name: string) {
    for (const ref of target.chain) {
      const row = await vault.currentRow(db, ref, name);
      if (row) return { ref, row };
    }
    return null;
  }

  /** The row in the target's own scope; what is only inherited (or out of the principal's reach) is refused. */
  async function ownRow(principal: Principal, target: Target, name: string, action: string) {
    const row = await vault.currentRow(db, target.own, name);
    if (row) return row;
    const inherited = await nearest(target, name);
    if (!inherited) return refuseMissing(db, principal, target, action, name);
    throw new NotFoundError(`secret in the ${target.own.scope} scope (it is inherited from the ${inherited.ref.scope} scope)`, name);
  }

  return {
    start: () => vault.start(),
    stop: () => vault.stop(),
    /** Drops every cached row and data key (benchmarks and tests measure the uncached path with it). */
    clearCache() {
      vault.cache.clear();
      vault.dataKeys.forget();
    },
    /**
     * Told, synchronously, of every drop of this service's sealed-row cache
     * (a write here, another process's NOTIFY, clearCache): one scope, or
     * null for everything. Answers how to stop listening.
     */
    watchInvalidations: (listener: InvalidationListener) => vault.cache.watch(listener),

    async list(principal: Principal, ref: TargetRef): Promise<SecretListing[]> {
      const target = await authorize(principal, ref, "secrets:read", "secret.list");
      const rows = await db
        .select()
        .from(secrets)
        .where(or(...target.chain.map((s) => and(eq(secrets.scope, s.scope), eq(secrets.scopeId, s.scopeId)))));
      const rank = (scope: SecretScope) => target.chain.findIndex((s) => s.scope === scope);
      const byName = new Map<string, SecretListing>();
      for (const row of rows.sort((a, b) => rank(a.scope) - rank(b.scope))) {
        const winner = byName.get(row.name);
        if (winner) winner.overrides.push(row.scope);
        else byName.set(row.name, { name: row.name, scope: row.scope, version: row.version, size: row.size, updated_at: row.updatedAt, bound_hosts: row.boundHosts ?? null, overrides: [] });
      }
      return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
    },

    async describe(principal: Principal, ref: TargetRef, name: string): Promise<SecretMetadata> {
      const target = await authorize(principal, ref, "secrets:read", "secret.preview", name);
      const hit = (await nearest(target, name)) ?? (await refuseMissing(db, principal, target, "secret.preview", name));
      // Opened even when bound (its preview shows nothing): a row that does not open is refused here too.
      const value = await vault.openRow(hit.ref, hit.row);
      // The preview shows up to 4 characters of the value: that is a read, so it is audited.
      await recordAudit(db, principal, {
        action: "secret.preview",
        outcome: "ok",
        appId: target.appId,
        workspaceId: target.workspaceId,
        scope: hit.ref.scope,
        scopeId: hit.ref.scopeId,
        name,
        version: hit.row.version,
      });
      const { row } = hit;
      return {
        name,
        scope: hit.ref.scope,
        version: row.version,
        size: row.size,
        created_at: row.createdAt,
        updated_at: row.updatedAt,
        updated_by: row.updatedBy,
        bound_hosts: row.boundHosts ?? null,
        preview: maskedPreview(value, row.boundHosts != null),
      };
    },

    async reveal(principal: Principal, ref: TargetRef, name: string): Promise<ResolvedSecret> {
      const target = await authorize(principal, ref, "secrets:reveal", "secret.reveal", name);
      const hit = await reads.resolve(target, name, principal, "secret.reveal");
      return hit ?? refuseMissing(db, principal, target, "secret.reveal", name);
    },

    /**
     * Sets `name` to `value` as a new version, with the binding of
     * `options.boundHosts` (loosening.ts says who may loosen one). Changing
     * only the binding is a new version too.
     */
    async set(principal: Principal, ref: TargetRef, name: string, value: unknown, options: SetOptions = {}) {
      const target = await authorize(principal, ref, "secrets:write", "secret.set", name);
      const json = encodeValue(value, vault.maxBytes);
      const binding = options.boundHosts === undefined ? undefined : canonicalBinding(options.boundHosts);
      const outcome = await vault.write(target, async (tx, key) => {
        const current = await vault.currentRow(tx, target.own, name, true);
        const next = binding === undefined ? (current?.boundHosts ?? null) : binding;
        const loosening = mayLoosen(principal) ? null : await setLoosens(vault, tx, target, current, json, next);
        if (loosening) return { loosening };
        return vault.writeVersion(tx, key, principal, target, name, json, "set", { action: "secret.set" }, next);
      });
      if ("loosening" in outcome) return refuseLoosening(db, principal, target, "secret.set", name, outcome.loosening);
      const { created, row } = outcome;
      return { created, name, scope: target.own.scope, version: row.version, updated_at: row.updatedAt, bound_hosts: row.boundHosts ?? null };
    },

    async remove(principal: Principal, ref: TargetRef, name: string): Promise<void> {
      const target = await authorize(principal, ref, "secrets:write", "secret.delete", name);
      const row = await ownRow(principal, target, name, "secret.delete");
      await vault.write(target, async (tx) => {
        await tx.delete(secrets).where(eq(secrets.id, row.id));
        await recordAudit(tx, principal, {
          action: "secret.delete",
          outcome: "ok",
          appId: target.appId,
          workspaceId: target.workspaceId,
          scope: target.own.scope,
          scopeId: target.own.scopeId,
          name,
          version: row.version,
        });
        await publishSecretChanges(tx, [{ name, ...target.own, version: row.version, action: "deleted", actor: principal, workspaceId: target.workspaceId }]);
        await vault.notify(tx, target.own);
      });
    },

    async versions(principal: Principal, ref: TargetRef, name: string) {
      const target = await authorize(principal, ref, "secrets:read", "secret.versions", name);
      const row = await ownRow(principal, target, name, "secret.versions");
      const rows = await db
        .select({
          version: secretVersions.version,
          size: secretVersions.size,
          createdAt: secretVersions.createdAt,
          createdBy: secretVersions.createdBy,
          origin: secretVersions.origin,
          boundHosts: secretVersions.boundHosts,
        })
        .from(secretVersions)
        .where(eq(secretVersions.secretId, row.id))
        .orderBy(desc(secretVersions.version));
      return rows.map((v) => ({
        version: v.version,
        size: v.size,
        created_at: v.createdAt,
        created_by: v.createdBy,
        origin: v.origin,
        bound_hosts: v.boundHosts ?? null,
        current: v.version === row.version,
      }));
    },

    /** Makes version `version`'s value and binding current again, as a new version. */
    async rollback(principal: Principal, ref: TargetRef, name: string, version: number) {
      const target = await authorize(principal, ref, "secrets:write", "secret.rollback", name);
      const current = await ownRow(principal, target, name, "secret.rollback");
      const outcome = await vault.write(target, async (tx, key) => {
        const [old] = await tx
          .select()
          .from(secretVersions)
          .where(and(eq(secretVersions.secretId, current.id), eq(secretVersions.version, version)));
        if (!old) throw new NotFoundError(`version of ${name}`, String(version));
        const restored = { name, version, ciphertext: old.ciphertext, dataKeyId: old.dataKeyId, boundHosts: old.boundHosts ?? null };
        const value = await vault.openRow(target.own, restored, tx);
        if (!mayLoosen(principal)) {
          const locked = (await vault.currentRow(tx, target.own, name, true)) ?? current;
          const loosening = await rollbackLoosens(vault, tx, target, locked, restored, value);
          if (loosening) return { loosening };
        }
        return vault.writeVersion(
          tx,
          key,
          principal,
          target,
          name,
          encodeValue(value, Number.MAX_SAFE_INTEGER),
          `rollback:${version}`,
          { action: "secret.rollback", details: { from_version: version } },
          restored.boundHosts,
        );
      });
      if ("loosening" in outcome) return refuseLoosening(db, principal, target, "secret.rollback", name, outcome.loosening);
      const { row } = outcome;
      return { name, scope: target.own.scope, version: row.version, updated_at: row.updatedAt, bound_hosts: row.boundHosts ?? null, rolled_back_to: version };
    },

    /** Imports dotenv text into the target's own scope (import.ts says how, and what a dry run tells). */
    async importDotenv(principal: Principal, ref: TargetRef, text: string, dryRun: boolean): Promise<ImportReport> {
      const target = await authorize(principal, ref, "secrets:write", "secret.import");
      return importDotenv(vault, principal, target, text, dryRun);
    },

    async audit(principal: Principal, ref: TargetRef, query: Omit<AuditQuery, "appId" | "workspaceId">): Promise<AuditRow[]> {
      const target = await authorize(principal, ref, "secrets:read", "audit.list");
      return listAudit(db, {
        ...query,
        ...(target.appId ? { appId: target.appId } : target.workspaceId ? { workspaceId: target.workspaceId } : {}),
      });
    },

    /**
     * The script read path: `name` for `appId`, nearest scope first, audited
     * once per run and version. Null when unset.
     */
    async resolveSecret(appId: string, name: string, actor: Principal): Promise<ResolvedSecret | null> {
      return reads.resolve(await reads.target(appId), name, actor, "secret.read");
    },

    /** `name` for `appId` in each scope that sets it, nearest first, audited like resolveSecret. */
    async resolveSecretInEachScope(appId: string, name: string, actor: Principal): Promise<ResolvedSecret[]> {
      return reads.resolveEach(await reads.target(appId), name, actor, "secret.read");
    },

    /** Names visible to an app's scripts, with the scope each comes from. */
    async listSecretNames(appId: string) {
      return reads.names(await reads.target(appId));
    },

    /**
     * Seals a platform-held secret of an app (an email trigger's signing
     * secret) with the app's data key, bound by `aad` to where it is stored.
     */
    sealForApp(tx: Db, appId: string, aad: string, plaintext: Buffer): Promise<Buffer> {
      return sealForScope(tx, { scope: "app", scopeId: appId }, aad, plaintext);
    },

    /** Opens what sealForApp sealed; anything that does not open is decrypt_failed, never skipped. */
    openForApp(appId: string, aad: string, sealed: Buffer): Promise<Buffer> {
      return openForScope({ scope: "app", scopeId: appId }, aad, sealed);
    },

    /** Seals a platform-held secret with a scope's data key (an operator webhook's, with the global or its workspace's). */
    sealForScope,
    /** Opens what sealForScope sealed; decrypt_failed otherwise. */
    openForScope,
  };
}

export type SecretsService = ReturnType<typeof createSecretsService>;
