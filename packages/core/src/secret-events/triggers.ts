import { and, eq } from "drizzle-orm";
import { apps, notifyIn, outbox, triggers, type Db } from "@switchyard/db";
import { newId } from "../ids.ts";
import { OUTBOX_CHANNEL } from "../outbox/queue.ts";
import type { SecretChangedConfig } from "../triggers/config.ts";
import { changeFields, type SecretChange, type SecretChangedEvent } from "./events.ts";
import { nameMatches } from "./name-pattern.ts";

// Outbox rows per insert: an import of 5,000 names watched by a trigger is
// ten statements, not 5,000 (11 columns, far below the bind-parameter cap).
const ROWS_PER_STATEMENT = 500;

const watchers = { id: triggers.id, appId: triggers.appId, scriptId: triggers.scriptId, config: triggers.config, retry: triggers.retry };

/**
 * The enabled `secret_changed` triggers that may hear a change in one scope:
 * only apps that read that scope. An app reads its own secrets, its
 * workspace's and the global ones, so a change of an app's secret reaches
 * that app's triggers alone, a workspace's the triggers of its apps, a global
 * one every app's; never another app's or another workspace's.
 */
async function watchersOf(tx: Db, change: SecretChange) {
  const base = and(eq(triggers.kind, "secret_changed"), eq(triggers.enabled, true));
  if (change.scope === "app") return tx.select(watchers).from(triggers).where(and(base, eq(triggers.appId, change.scopeId)));
  if (change.scope === "workspace") {
    return tx
      .select(watchers)
      .from(triggers)
      .innerJoin(apps, eq(apps.id, triggers.appId))
      .where(and(base, eq(apps.workspaceId, change.scopeId)));
  }
  return tx.select(watchers).from(triggers).where(base);
}

const matches = (config: SecretChangedConfig, change: SecretChange) =>
  (config.scopes.length === 0 || config.scopes.includes(change.scope)) &&
  (config.names.length === 0 || config.names.some((pattern) => nameMatches(pattern, change.name)));

/**
 * Enqueues one `secret_changed` event for each matching trigger and change,
 * with `tx`: inside the transaction that makes the change, so the events
 * exist exactly when the change commits, once, whichever process made it.
 * Answers how many were enqueued.
 */
export async function fanOutToTriggers(tx: Db, changes: readonly SecretChange[]): Promise<number> {
  const rows: (typeof outbox.$inferInsert)[] = [];
  const byScope = new Map<string, SecretChange[]>();
  for (const change of changes) {
    const key = `${change.scope}:${change.scopeId}`;
    byScope.set(key, [...(byScope.get(key) ?? []), change]);
  }
  for (const group of byScope.values()) {
    const handlers = await watchersOf(tx, group[0] as SecretChange);
    for (const handler of handlers) {
      for (const change of group) {
        if (!matches(handler.config as SecretChangedConfig, change)) continue;
        const event: SecretChangedEvent = { kind: "secret_changed", secret_changed: changeFields(change) };
        rows.push({
          id: newId("evt"),
          appId: handler.appId,
          scriptId: handler.scriptId,
          triggerId: handler.id,
          kind: "secret_changed",
          event,
          retry: handler.retry,
          depth: 0,
          origin: `secret:${change.scope}:${change.scopeId}:${change.name}#${change.version}:${change.action}`,
        });
      }
    }
  }
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) await tx.insert(outbox).values(rows.slice(i, i + ROWS_PER_STATEMENT));
  if (rows.length > 0) await notifyIn(tx, OUTBOX_CHANNEL, "");
  return rows.length;
}
