import { Cron } from "croner";
import { and, eq, lt } from "drizzle-orm";
import { cronState, triggers, type Db } from "@switchyard/db";
import { enqueue } from "../outbox/queue.ts";
import type { CronConfig } from "./config.ts";

/**
 * Fires every enabled cron trigger whose latest scheduled tick (at or before
 * `now`) is newer than the last one fired. Only that latest tick fires: a
 * worker that was down for an hour fires a `*\/5` schedule once, not twelve
 * times. The compare-and-set on `cron_state` and the enqueue share one
 * transaction, so when several workers race, exactly one fires each tick.
 */
export async function fireDueCronTicks(db: Db, now = new Date()): Promise<number> {
  const rows = await db
    .select({ trigger: triggers, lastTick: cronState.lastTick })
    .from(triggers)
    .innerJoin(cronState, eq(cronState.triggerId, triggers.id))
    .where(and(eq(triggers.kind, "cron"), eq(triggers.enabled, true)));
  let fired = 0;
  for (const { trigger, lastTick } of rows) {
    const config = trigger.config as CronConfig;
    const [tick] = new Cron(config.schedule, { timezone: config.timezone, paused: true }).previousRuns(1, now);
    if (!tick || tick.getTime() <= lastTick.getTime()) continue;
    const won = await db.transaction(async (tx) => {
      const [claimed] = await tx
        .update(cronState)
        .set({ lastTick: tick })
        .where(and(eq(cronState.triggerId, trigger.id), lt(cronState.lastTick, tick)))
        .returning();
      if (!claimed) return false;
      await enqueue(tx, {
        appId: trigger.appId,
        scriptId: trigger.scriptId,
        triggerId: trigger.id,
        kind: "cron",
        event: { kind: "cron", cron: { schedule: config.schedule, scheduled_at: tick.toISOString() } },
        retry: trigger.retry,
        origin: `cron:${trigger.id}`,
      });
      return true;
    });
    if (won) fired += 1;
  }
  return fired;
}
