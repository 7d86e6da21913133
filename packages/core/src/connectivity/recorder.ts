import { sql } from "drizzle-orm";
import type { Db } from "@switchyard/db";
import type { Logger } from "../logger.ts";
import { countsForHealth, destinationHost, failureCode, type FetchOutcome } from "./attempts.ts";
import { evaluateHosts, type HostRef } from "./evaluate.ts";
import type { ConnectivityChange } from "./events.ts";
import { emptyHistogram, observe, type Histogram } from "./histogram.ts";
import { bucketMsFor, type StatusRules } from "./rules.ts";

export interface ConnectivityRecorderOptions {
  db: Db;
  /** This process's name in the rows it writes (and only it writes them). */
  workerId: string;
  rules: StatusRules;
  logger: Logger;
  /** How often running totals are written and their hosts re-evaluated (default 1 s). */
  flushMs?: number;
  /** How long rows are kept; a host with no row left is forgotten, status included (default 24 h). */
  retentionMs?: number;
  /** Distinct (app, host) pairs held per bucket; attempts past it are dropped and counted (default 5000). */
  maxPairs?: number;
  /** Distinct hosts one app may hold per bucket (default 200): one app fetching endless hostnames must not crowd out every other app's records. */
  maxHostsPerApp?: number;
  /** Called with the changes a flush made (logs, metrics). */
  onChanges?: (changes: ConnectivityChange[]) => void;
  now?: () => number;
}

/** One worker's running totals for one (app, host, bucket): the row it owns. */
interface Totals {
  appId: string;
  host: string;
  bucket: number;
  requests: number;
  errors: number;
  errorsByCode: Record<string, number>;
  histogram: Histogram;
  lastStatus: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  lastSuccessAt: number | null;
  lastAttemptAt: number;
  recent: Array<[number, 0 | 1, number]>;
  /** Bumped by each attempt; `flushed` is the version last written. */
  version: number;
  flushed: number;
}

const RECENT = 5;
const PRUNE_EVERY_MS = 10 * 60_000;

/**
 * Feeds every script fetch into per-app, per-host health records, off the
 * request path: `record` only adds to running totals in memory; every
 * `flushMs` the totals that changed are written in ONE statement as upserts
 * of this worker's own rows (one per app, host and minute; a retried write
 * writes the same totals again, so it is idempotent), then the hosts they
 * touched are re-evaluated (evaluate.ts). A failed write keeps the totals
 * and tries again at the next flush.
 *
 * @example
 * const recorder = createConnectivityRecorder({ db, workerId: "host-a:4211", rules: DEFAULT_STATUS_RULES, logger });
 * recorder.start();
 * recorder.record(appId, outcome.subrequests);
 * await recorder.stop(); // writes what is left
 */
export function createConnectivityRecorder(options: ConnectivityRecorderOptions) {
  const { db, workerId, rules, logger } = options;
  const now = options.now ?? Date.now;
  const flushMs = options.flushMs ?? 1_000;
  const retentionMs = options.retentionMs ?? 24 * 3_600_000;
  const maxPairs = options.maxPairs ?? 5_000;
  const maxHostsPerApp = options.maxHostsPerApp ?? 200;
  /** Entries of `totals` per app, kept with it. */
  const perApp = new Map<string, number>();
  const bucketMs = bucketMsFor(rules.windowMs);
  const totals = new Map<string, Totals>();
  /** Hosts whose evaluation failed: tried again at the next flush. */
  const unevaluated = new Map<string, HostRef>();
  let dropped = 0;
  let timer: NodeJS.Timeout | null = null;
  let chain: Promise<void> = Promise.resolve();
  let inFlight = 0;
  let lastPrune = now();

  function totalsFor(appId: string, host: string, at: number): Totals | null {
    const bucket = Math.floor(at / bucketMs) * bucketMs;
    const key = `${appId}\n${host}\n${bucket}`;
    let t = totals.get(key);
    if (t) return t;
    // Bounded: random hostnames from one script must not grow memory and rows without end.
    const held = perApp.get(appId) ?? 0;
    if (totals.size >= maxPairs || held >= maxHostsPerApp) return null;
    perApp.set(appId, held + 1);
    t = {
      appId,
      host,
      bucket,
      requests: 0,
      errors: 0,
      errorsByCode: {},
      histogram: emptyHistogram(),
      lastStatus: null,
      lastError: null,
      lastErrorAt: null,
      lastSuccessAt: null,
      lastAttemptAt: at,
      recent: [],
      version: 0,
      flushed: 0,
    };
    totals.set(key, t);
    return t;
  }

  async function write(batch: Totals[]): Promise<void> {
    const rows = batch.map((t) => ({
      app_id: t.appId,
      host: t.host,
      minute: new Date(t.bucket).toISOString(),
      requests: t.requests,
      errors: t.errors,
      errors_by_code: t.errorsByCode,
      latency_histogram: t.histogram,
      last_status: t.lastStatus,
      last_error: t.lastError,
      last_error_at: t.lastErrorAt === null ? null : new Date(t.lastErrorAt).toISOString(),
      last_success_at: t.lastSuccessAt === null ? null : new Date(t.lastSuccessAt).toISOString(),
      last_attempt_at: new Date(t.lastAttemptAt).toISOString(),
      recent: t.recent,
    }));
    // Rows of an app deleted since its runs are skipped (the join), not an error for the batch.
    await db.execute(sql`
      insert into connectivity_minutes (app_id, host, worker_id, minute, requests, errors, errors_by_code, latency_histogram,
                                        last_status, last_error, last_error_at, last_success_at, last_attempt_at, recent)
      select r.app_id, r.host, ${workerId}, r.minute, r.requests, r.errors, r.errors_by_code, r.latency_histogram,
             r.last_status, r.last_error, r.last_error_at, r.last_success_at, r.last_attempt_at, r.recent
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(
        app_id text, host text, minute timestamptz, requests integer, errors integer, errors_by_code jsonb, latency_histogram jsonb,
        last_status integer, last_error text, last_error_at timestamptz, last_success_at timestamptz, last_attempt_at timestamptz, recent jsonb)
      join apps a on a.id = r.app_id
      on conflict (app_id, host, worker_id, minute) do update set
        requests = excluded.requests, errors = excluded.errors, errors_by_code = excluded.errors_by_code,
        latency_histogram = excluded.latency_histogram, last_status = excluded.last_status, last_error = excluded.last_error,
        last_error_at = excluded.last_error_at, last_success_at = excluded.last_success_at,
        last_attempt_at = excluded.last_attempt_at, recent = excluded.recent`);
  }

  async function flushOnce(): Promise<void> {
    const at = now();
    const current = Math.floor(at / bucketMs) * bucketMs;
    const dirty = [...totals.values()].filter((t) => t.version !== t.flushed);
    const versions = dirty.map((t) => t.version);
    if (dirty.length > 0) {
      try {
        await write(dirty);
      } catch (error) {
        logger.warn({ err: error, rows: dirty.length }, "writing connectivity totals failed; they are kept for the next flush");
        return;
      }
      dirty.forEach((t, i) => (t.flushed = versions[i] as number));
      for (const t of dirty) unevaluated.set(`${t.appId}\n${t.host}`, { appId: t.appId, host: t.host });
    }
    // A past bucket, written in full, is not needed in memory any more.
    for (const [key, t] of totals) {
      if (t.bucket >= current || t.version !== t.flushed) continue;
      totals.delete(key);
      const held = (perApp.get(t.appId) ?? 1) - 1;
      if (held > 0) perApp.set(t.appId, held);
      else perApp.delete(t.appId);
    }
    if (dropped > 0) {
      logger.warn({ dropped, maxPairs, maxHostsPerApp }, "connectivity: too many distinct destinations at once; attempts past the limit were not recorded");
      dropped = 0;
    }
    if (unevaluated.size > 0) {
      const hosts = [...unevaluated.values()];
      unevaluated.clear();
      try {
        const changes = await evaluateHosts(db, hosts, rules, () => new Date(now()));
        if (changes.length > 0) options.onChanges?.(changes);
      } catch (error) {
        for (const h of hosts) unevaluated.set(`${h.appId}\n${h.host}`, h);
        logger.warn({ err: error, hosts: hosts.length }, "evaluating connectivity failed; tried again at the next flush");
      }
    }
    if (at - lastPrune >= PRUNE_EVERY_MS) {
      lastPrune = at;
      await prune(at).catch((error: unknown) => logger.warn({ err: error }, "pruning connectivity rows failed"));
    }
  }

  /** Rows past retention go (any worker may do it: idempotent), then status rows of hosts with no row left. */
  async function prune(at: number): Promise<void> {
    const before = new Date(at - Math.max(retentionMs, rules.windowMs + bucketMs)).toISOString();
    await db.execute(sql`delete from connectivity_minutes where minute < ${before}::timestamptz`);
    await db.execute(sql`
      delete from connectivity_status s
      where s.checked_at < ${before}::timestamptz
        and not exists (select 1 from connectivity_minutes m where m.app_id = s.app_id and m.host = s.host)`);
  }

  const flush = (): Promise<void> => {
    // One flush at a time; a call during one waits for it and then runs its own.
    inFlight++;
    chain = chain
      .then(flushOnce)
      .catch((error: unknown) => logger.error({ err: error }, "connectivity flush failed"))
      .finally(() => inFlight--);
    return chain;
  };

  return {
    /**
     * Adds a run's fetches to this worker's running totals (memory only).
     * Fetches that were never sent (aborted by the script, refused on this
     * side) are left out: they say nothing of the destination.
     */
    record(appId: string, fetches: readonly FetchOutcome[]): void {
      const at = now();
      for (const f of fetches) {
        if (!countsForHealth(f)) continue;
        const host = destinationHost(f.url);
        if (!host) continue;
        const t = totalsFor(appId, host, at);
        if (!t) {
          dropped++;
          continue;
        }
        const code = failureCode(f);
        t.requests++;
        observe(t.histogram, f.duration_ms);
        t.lastStatus = f.status;
        if (code) {
          t.errors++;
          t.errorsByCode[code] = (t.errorsByCode[code] ?? 0) + 1;
          t.lastError = code;
          t.lastErrorAt = at;
        } else {
          t.lastSuccessAt = at;
        }
        t.lastAttemptAt = at;
        t.recent.push([at, code ? 0 : 1, Math.round(f.duration_ms)]);
        if (t.recent.length > RECENT) t.recent.shift();
        t.version++;
      }
    },
    flush,
    start(): void {
      if (timer) return;
      // A slow database skips ticks rather than queueing flushes behind each other.
      timer = setInterval(() => inFlight === 0 && void flush(), flushMs);
      timer.unref();
    },
    /** Stops the timer and writes what is left. */
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = null;
      await flush();
    },
    /** What is held in memory (tests, metrics). */
    stats: () => ({ pairs: totals.size, unevaluated: unevaluated.size }),
  };
}

export type ConnectivityRecorder = ReturnType<typeof createConnectivityRecorder>;
