import { recordAudit } from "../audit.ts";
import type { ScopeRef, SecretScope } from "../data-keys.ts";
import { NotFoundError } from "../errors.ts";
import type { Principal } from "../principal.ts";
import { scopeKey } from "./sealed-cache.ts";
import { appTarget, secretAuditFields, type Target } from "./target.ts";
import type { Vault } from "./vault.ts";

export interface ResolvedSecret {
  value: unknown;
  scope: SecretScope;
  version: number;
  /**
   * The hosts the value may be sent to (canonical `host`, `host:port`,
   * `*.domain`, address entries), from the row that resolved; null when the
   * value is unbound and scripts may hold it. A bound value must not enter
   * the sandbox. It is authentic: a row whose binding was edited does not open.
   */
  boundHosts: string[] | null;
}

// Script runs may read one secret many times; the audit log records each
// (run, secret, version) once. The set is bounded and cleared when full: a
// cleared entry only means one more audit row, never a missing one.
const AUDITED_CAP = 50_000;

/**
 * The path scripts read through: sealed rows and data keys come from the
 * in-process cache; the value is opened per call and not kept.
 */
export class ReadPath {
  private readonly audited = new Set<string>();

  constructor(private readonly vault: Vault) {}

  // Each app's Target, kept so the hot path allocates nothing to find its chain.
  private readonly targets = new Map<string, Target>();

  async target(appId: string): Promise<Target> {
    const known = this.targets.get(appId);
    if (known && this.vault.cache.isWarm(appId, known.chain)) return known;
    const warmed = await this.vault.cache.warmApp(this.vault.db, appId, (workspaceId) => appTarget(appId, workspaceId).chain);
    if (!warmed) {
      this.targets.delete(appId);
      throw new NotFoundError("app", appId);
    }
    for (const key of warmed.keys) {
      try {
        this.vault.dataKeys.prime(key.ref, key);
      } catch {
        // Left unprimed: the read itself reports it as decrypt_failed, typed and logged.
      }
    }
    const target = appTarget(appId, warmed.workspaceId);
    if (this.targets.size >= 10_000) this.targets.clear();
    this.targets.set(appId, target);
    return target;
  }

  /**
   * Resolves `name` for an app (app, then workspace, then global; nearest
   * wins), audited. Answers null when no scope has it. If the audit row cannot
   * be written, it throws and the value is not returned.
   */
  async resolve(target: Target, name: string, actor: Principal, action: string): Promise<ResolvedSecret | null> {
    // The first scope that has it; the farther ones are never opened or audited.
    for await (const hit of this.each(target, name, actor, action)) return hit;
    return null;
  }

  /**
   * `name` in every scope of the app's chain that sets it, nearest first,
   * each audited: for settings a farther scope may only narrow (the email
   * limits), where the nearest value alone would let an app lift them.
   */
  async resolveEach(target: Target, name: string, actor: Principal, action: string): Promise<ResolvedSecret[]> {
    const out: ResolvedSecret[] = [];
    for await (const hit of this.each(target, name, actor, action)) out.push(hit);
    return out;
  }

  private async *each(target: Target, name: string, actor: Principal, action: string): AsyncGenerator<ResolvedSecret> {
    for (const ref of target.chain) {
      const row = (await this.vault.cache.rows(this.vault.db, ref)).get(name);
      if (!row) continue;
      const value = await this.vault.openRow(ref, row);
      await this.audit(actor, target, ref, name, row.version, action);
      yield { value, scope: ref.scope, version: row.version, boundHosts: row.boundHosts ?? null };
    }
  }

  /** Names visible to an app, with the scope each comes from. */
  async names(target: Target): Promise<{ name: string; scope: SecretScope }[]> {
    const seen = new Map<string, SecretScope>();
    for (const ref of target.chain) {
      for (const name of (await this.vault.cache.rows(this.vault.db, ref)).keys()) if (!seen.has(name)) seen.set(name, ref.scope);
    }
    return [...seen].map(([name, scope]) => ({ name, scope })).sort((a, b) => a.name.localeCompare(b.name));
  }

  private async audit(actor: Principal, target: Target, ref: ScopeRef, name: string, version: number, action: string) {
    const key = actor.type === "run" ? `${actor.id}|${scopeKey(ref)}|${name}|${version}` : null;
    if (key && this.audited.has(key)) return;
    await recordAudit(this.vault.db, actor, { action, outcome: "ok", ...secretAuditFields(target, ref, name, version) });
    if (key) {
      if (this.audited.size >= AUDITED_CAP) this.audited.clear();
      this.audited.add(key);
    }
  }
}
