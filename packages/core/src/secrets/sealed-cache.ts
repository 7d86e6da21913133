import { and, eq } from "drizzle-orm";
import { apps, secrets, type Db } from "@switchyard/db";
import type { ScopeRef } from "../data-keys.ts";

export type SealedRow = typeof secrets.$inferSelect;

interface ScopeEntry {
  rows: Map<string, SealedRow>;
  loadedAt: number;
}

export const scopeKey = (ref: ScopeRef) => `${ref.scope}:${ref.scopeId}`;

/**
 * An in-process cache of sealed secret rows, one whole scope at a time, and of
 * each app's workspace. It holds ciphertext only: values are opened per call
 * and never kept. Invalidation comes from LISTEN/NOTIFY (see secrets-service);
 * the TTL is the backstop for a missed notification.
 */
export class SealedCache {
  private readonly scopes = new Map<string, ScopeEntry>();
  private readonly appWorkspaces = new Map<string, { workspaceId: string; loadedAt: number }>();
  // Bumped on every invalidation (per scope, or all at once), so a load that
  // raced with one is not stored.
  private readonly generations = new Map<string, number>();
  private epoch = 0;

  constructor(private readonly ttlMs: number) {}

  async rows(db: Db, ref: ScopeRef): Promise<Map<string, SealedRow>> {
    const key = scopeKey(ref);
    const hit = this.scopes.get(key);
    if (hit && performance.now() - hit.loadedAt < this.ttlMs) return hit.rows;
    const generation = this.generations.get(key) ?? 0;
    const epoch = this.epoch;
    const loaded = await db
      .select()
      .from(secrets)
      .where(and(eq(secrets.scope, ref.scope), eq(secrets.scopeId, ref.scopeId)));
    const rows = new Map(loaded.map((row) => [row.name, row]));
    if ((this.generations.get(key) ?? 0) === generation && this.epoch === epoch) this.scopes.set(key, { rows, loadedAt: performance.now() });
    return rows;
  }

  /** The app's workspace, or null when the app does not exist. */
  async workspaceOf(db: Db, appId: string): Promise<string | null> {
    const hit = this.appWorkspaces.get(appId);
    if (hit && performance.now() - hit.loadedAt < this.ttlMs) return hit.workspaceId;
    const [row] = await db.select({ workspaceId: apps.workspaceId }).from(apps).where(eq(apps.id, appId));
    if (!row) return null;
    this.appWorkspaces.set(appId, { workspaceId: row.workspaceId, loadedAt: performance.now() });
    return row.workspaceId;
  }

  invalidate(ref: ScopeRef): void {
    const key = scopeKey(ref);
    this.generations.set(key, (this.generations.get(key) ?? 0) + 1);
    this.scopes.delete(key);
    if (ref.scope === "app") this.appWorkspaces.delete(ref.scopeId);
  }

  clear(): void {
    this.epoch += 1;
    this.scopes.clear();
    this.appWorkspaces.clear();
  }
}
