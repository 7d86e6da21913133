import { sql } from "drizzle-orm";
import type { Db } from "@switchyard/db";
import type { Logger } from "../logger.ts";

export type InboundChannel = "email" | "http";

export interface InboundTallyOptions {
  db: Db;
  logger: Logger;
  /** How often the counts are added to the table (default 1 s). */
  flushMs?: number;
  /** Distinct (app, channel, minute) keys held between flushes; past it, counts are dropped and logged (default 10,000). */
  maxKeys?: number;
  now?: () => number;
}

const MINUTE_MS = 60_000;

interface Counts {
  appId: string | null;
  channel: InboundChannel;
  minute: number;
  accepted: number;
  refused: number;
}

/**
 * Counts inbound requests (inbound email, http triggers) accepted and
 * refused, per app and minute, for the stats API. `record` only adds to a
 * map in memory; every `flushMs` the counts are ADDED to their rows in one
 * upsert and taken off the map only once it committed (a failed write keeps
 * them for the next flush). A flood of refusals is one row per minute, not a
 * row per request. A count whose app was deleted meanwhile is dropped by the
 * statement, not an error for the batch.
 *
 * @example
 * const tally = createInboundTally({ db, logger });
 * tally.start();
 * tally.record(trigger.appId, "http", true);
 * tally.record(null, "email", false); // a trigger id that names nothing
 * await tally.stop(); // writes what is left
 */
export function createInboundTally(options: InboundTallyOptions) {
  const { db, logger } = options;
  const flushMs = options.flushMs ?? 1_000;
  const maxKeys = options.maxKeys ?? 10_000;
  const now = options.now ?? Date.now;
  let pending = new Map<string, Counts>();
  let dropped = 0;
  let timer: NodeJS.Timeout | null = null;
  let chain: Promise<void> = Promise.resolve();

  async function flushOnce(): Promise<void> {
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    const rows = [...batch.values()].map((c) => ({
      app_id: c.appId,
      channel: c.channel,
      minute: new Date(c.minute).toISOString(),
      accepted: c.accepted,
      refused: c.refused,
    }));
    try {
      await db.execute(sql`
        insert into inbound_minutes as m (app_id, channel, minute, accepted, refused)
        select i.app_id, i.channel, i.minute, i.accepted, i.refused
        from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as i(app_id text, channel text, minute timestamptz, accepted integer, refused integer)
        where i.app_id is null or exists (select 1 from apps a where a.id = i.app_id)
        on conflict (app_id, minute, channel) do update set
          accepted = m.accepted + excluded.accepted,
          refused = m.refused + excluded.refused`);
    } catch (error) {
      // Back into the map, added to whatever arrived meanwhile.
      for (const [key, c] of batch) add(key, c.appId, c.channel, c.minute, c.accepted, c.refused);
      logger.warn({ err: error, keys: batch.size }, "inbound counts not written; the next flush tries again");
    }
    if (dropped > 0) {
      logger.warn({ dropped }, "inbound counts dropped: too many distinct apps between two flushes");
      dropped = 0;
    }
  }

  function add(key: string, appId: string | null, channel: InboundChannel, minute: number, accepted: number, refused: number): void {
    let c = pending.get(key);
    if (!c) {
      if (pending.size >= maxKeys) {
        dropped += accepted + refused;
        return;
      }
      c = { appId, channel, minute, accepted: 0, refused: 0 };
      pending.set(key, c);
    }
    c.accepted += accepted;
    c.refused += refused;
  }

  function flush(): Promise<void> {
    chain = chain.then(flushOnce);
    return chain;
  }

  return {
    /** One inbound request's outcome; memory only. `appId` null: the trigger id named nothing. */
    record(appId: string | null, channel: InboundChannel, accepted: boolean): void {
      const minute = Math.floor(now() / MINUTE_MS) * MINUTE_MS;
      add(`${appId ?? ""}\n${channel}\n${minute}`, appId, channel, minute, accepted ? 1 : 0, accepted ? 0 : 1);
    },
    flush,
    start(): void {
      if (timer) return;
      timer = setInterval(() => void flush(), flushMs);
      timer.unref();
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = null;
      await flush();
    },
  };
}

export type InboundTally = ReturnType<typeof createInboundTally>;
