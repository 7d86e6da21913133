import { sql } from "drizzle-orm";
import type { Db } from "@switchyard/db";
import type { Logger } from "../logger.ts";
import { CLAIMABLE } from "../outbox/queue.ts";

export interface QueueSamplerOptions {
  db: Db;
  logger: Logger;
  /** How often the queue is sampled (default 10 s); a minute keeps its highest sample. */
  intervalMs?: number;
  /** How long samples and inbound counts are kept (default 48 h: the stats API looks back 24). */
  retentionMs?: number;
  now?: () => number;
}

const MINUTE_MS = 60_000;
const PRUNE_EVERY_MS = 3_600_000;

/**
 * Samples the outbox for the stats API's queue series: per app and for the
 * instance, how many events wait, are due, are running, and how long the
 * oldest due one has waited. One statement per sample: an aggregate over
 * the outbox (a few ms per 10,000 waiting events) upserted into this
 * minute's rows, keeping each figure's highest value. The statement skips
 * itself when any worker sampled less than half an interval ago, so N
 * workers scan the outbox about as often as one. Also prunes old samples
 * and inbound counts, once an hour.
 *
 * @example
 * const sampler = createQueueSampler({ db, logger });
 * sampler.start();
 * await sampler.sample(); // at once (tests)
 * await sampler.stop();
 */
export function createQueueSampler(options: QueueSamplerOptions) {
  const { db, logger } = options;
  const intervalMs = options.intervalMs ?? 10_000;
  const retentionMs = options.retentionMs ?? 48 * 3_600_000;
  const now = options.now ?? Date.now;
  let timer: NodeJS.Timeout | null = null;
  let chain: Promise<void> = Promise.resolve();
  let lastPrune = 0;

  async function sampleOnce(): Promise<void> {
    const at = now();
    const minute = new Date(Math.floor(at / MINUTE_MS) * MINUTE_MS).toISOString();
    const skipWithinMs = Math.floor(intervalMs / 2);
    await db.execute(sql`
      with q as (
        select app_id, count(*)::int as depth,
          count(*) filter (where ${CLAIMABLE})::int as due,
          count(*) filter (where lease_until >= now())::int as running,
          (extract(epoch from now() - min(run_at) filter (where ${CLAIMABLE})) * 1000)::bigint as oldest
        from outbox
        group by app_id
      ), sample as (
        select app_id, depth, due, running, oldest from q
        union all
        select null, coalesce(sum(depth), 0)::int, coalesce(sum(due), 0)::int, coalesce(sum(running), 0)::int, max(oldest) from q
      )
      insert into queue_samples as s (app_id, minute, depth, due, running, oldest_due_ms, sampled_at)
      select app_id, ${minute}::timestamptz, depth, due, running, oldest, now() from sample
      where not exists (
        select 1 from queue_samples r
        where r.app_id is null and r.minute = ${minute}::timestamptz and r.sampled_at > now() - ${skipWithinMs} * interval '1 millisecond'
      )
      on conflict (app_id, minute) do update set
        depth = greatest(s.depth, excluded.depth),
        due = greatest(s.due, excluded.due),
        running = greatest(s.running, excluded.running),
        oldest_due_ms = greatest(s.oldest_due_ms, excluded.oldest_due_ms),
        sampled_at = excluded.sampled_at`);
    if (at - lastPrune >= PRUNE_EVERY_MS) {
      lastPrune = at;
      const before = new Date(at - retentionMs).toISOString();
      await db.execute(sql`delete from queue_samples where minute < ${before}::timestamptz`);
      await db.execute(sql`delete from inbound_minutes where minute < ${before}::timestamptz`);
    }
  }

  /** One sample after the ones queued before it; a failure is logged and the next tick tries again. */
  function sample(): Promise<void> {
    chain = chain.then(() =>
      sampleOnce().catch((error: unknown) => {
        logger.warn({ err: error }, "queue sample not written; the next one tries again");
      }),
    );
    return chain;
  }

  return {
    sample,
    start(): void {
      if (timer) return;
      void sample();
      timer = setInterval(() => void sample(), intervalMs);
      timer.unref();
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = null;
      await chain;
    },
  };
}

export type QueueSampler = ReturnType<typeof createQueueSampler>;
