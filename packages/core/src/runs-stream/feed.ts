import type { Db } from "@switchyard/db";
import type { Logger } from "../logger.ts";
import type { Run } from "../scripts/runs.ts";
import { RetryLaterError } from "../triggers/errors.ts";
import { appsWithFinishedRuns, finishedRunsAfter, readHorizon, type RunCursor } from "./finished-runs.ts";

export interface RunFeedOptions {
  db: Db;
  logger: Logger;
  /**
   * How often the feed looks for newly settled runs while a stream is open.
   * Runs finish in worker processes, so this process learns of them from the
   * table. Measured: one poll (two statements, the apps query on 50,000
   * runs with 10 apps subscribed) takes 2-4 ms on PostgreSQL on a busy
   * two-core machine, so 5 a second cost one process about 2% of a
   * connection; a run reaches a stream 77-182 ms after it ended in a worker
   * process (PostgreSQL), about 75 ms on PGlite. The tail promises under 1 s.
   */
  pollMs?: number;
  /** Streams open at once in this process; one more is refused with 503 overloaded. Default 100. */
  maxStreams?: number;
  /** Streams one holder (a workspace, or a token not limited to one) may have open in this process, so one tenant cannot take every place. Default 10. */
  maxStreamsPerHolder?: number;
  /** Runs read per query; a stream replaying a long history reads it in pages of this. */
  pageSize?: number;
}

/** One open stream of an app's finished runs. */
export interface RunSubscription {
  /**
   * The next finished runs after the last ones returned (after the cursor
   * given at first), oldest first; waits until there are some. Resolves to
   * null once the subscription is closed (by the caller or the feed).
   */
  next(): Promise<Run[] | null>;
  /** Ends the subscription; a pending `next()` resolves to null. Idempotent. */
  close(): void;
}

/** The per-process source of every open runs stream. */
export interface RunFeed {
  /**
   * Opens a stream of app `appId`'s runs as they finish: after `cursor`
   * (replaying what finished since), or from now when null.
   * Throws RetryLaterError (overloaded) past `maxStreams`, or past
   * `maxStreamsPerHolder` streams of the same `holder`.
   */
  subscribe(appId: string, cursor: RunCursor | null, holder?: string): Promise<RunSubscription>;
  /** How many streams are open. */
  readonly size: number;
  /** Closes every stream and stops polling (at shutdown, before the HTTP server waits for its connections). */
  close(): void;
}

interface Subscriber {
  appId: string;
  /** The horizon this subscriber may read up to. */
  below: number;
  wake: (() => void) | null;
  closed: boolean;
}

/**
 * Creates the feed. It polls only while a stream is open: each poll reads
 * the settled horizon, then asks which subscribed apps had runs settle since
 * the previous one, and wakes only their streams; each stream then reads
 * its own app's runs from its own cursor (finished-runs.ts). A run is
 * delivered once, in `(finish_xid, id)` order, whichever process recorded
 * it and however late its transaction committed.
 *
 * @example
 * const feed = createRunFeed({ db, logger });
 * const sub = await feed.subscribe(app.id, null);
 * for (let runs = await sub.next(); runs; runs = await sub.next()) send(runs);
 */
export function createRunFeed(options: RunFeedOptions): RunFeed {
  const { db, logger } = options;
  const pollMs = options.pollMs ?? 200;
  const maxStreams = options.maxStreams ?? 100;
  const maxStreamsPerHolder = options.maxStreamsPerHolder ?? 10;
  /** Open streams per holder. */
  const held = new Map<string, number>();
  const pageSize = options.pageSize ?? 100;
  const subscribers = new Set<Subscriber>();
  // Subscribers that joined while a poll was in flight: that poll did not ask
  // about their app, so they are woken when it ends, whatever it found.
  let joined = new Set<Subscriber>();
  let horizon: number | null = null;
  let timer: NodeJS.Timeout | null = null;
  let polling: Promise<void> | null = null;
  let priming: Promise<number> | null = null;
  let closed = false;

  const wake = (s: Subscriber, below: number) => {
    s.below = Math.max(s.below, below);
    const w = s.wake;
    s.wake = null;
    w?.();
  };

  async function poll(): Promise<void> {
    const from = horizon ?? 0;
    const forced = joined;
    joined = new Set();
    const next = await readHorizon(db);
    const apps = await appsWithFinishedRuns(db, [...new Set([...subscribers].map((s) => s.appId))], from, next);
    horizon = Math.max(from, next);
    for (const s of subscribers) if (apps.has(s.appId) || forced.has(s)) wake(s, horizon);
  }

  function schedule(): void {
    if (timer || closed || subscribers.size === 0) return;
    timer = setTimeout(() => {
      timer = null;
      polling = poll()
        .catch((error: unknown) => logger.warn({ err: error }, "runs stream: poll failed; retrying"))
        .finally(() => {
          polling = null;
          schedule();
        });
    }, pollMs);
  }

  /** The horizon a new stream starts from, fresh: after an idle spell the last one is stale. */
  async function startingHorizon(): Promise<number> {
    if (horizon !== null && (timer || polling)) return horizon;
    priming ??= readHorizon(db).finally(() => (priming = null));
    const read = await priming;
    horizon = Math.max(horizon ?? 0, read);
    return horizon;
  }

  return {
    get size() {
      return subscribers.size;
    },

    async subscribe(appId, cursor, holder = "") {
      if (closed || subscribers.size >= maxStreams) {
        throw new RetryLaterError("overloaded", `this process already serves ${maxStreams} run streams; try again shortly`, 5);
      }
      if ((held.get(holder) ?? 0) >= maxStreamsPerHolder) {
        throw new RetryLaterError("overloaded", `you already have ${maxStreamsPerHolder} run streams open here; close one or try again shortly`, 5);
      }
      const start = await startingHorizon();
      // Counted once the stream exists (a failed start holds no place).
      held.set(holder, (held.get(holder) ?? 0) + 1);
      const s: Subscriber = { appId, below: start, wake: null, closed: false };
      // A cursor past the horizon can only come from a restored backup (run
      // ids recorded by another cluster's transactions): clamp it to now.
      let at: RunCursor = cursor === null || cursor.xid >= start ? { xid: start, id: "" } : cursor;
      // Read up to here already; a replay reads from the cursor first.
      let readBelow = cursor === null ? start : -1;
      let more = false;
      subscribers.add(s);
      if (polling) joined.add(s);
      schedule();
      const close = () => {
        if (s.closed) return;
        s.closed = true;
        const left = (held.get(holder) ?? 1) - 1;
        if (left > 0) held.set(holder, left);
        else held.delete(holder);
        subscribers.delete(s);
        joined.delete(s);
        wake(s, s.below);
      };
      return {
        async next() {
          for (;;) {
            if (s.closed) return null;
            if (more || s.below > readBelow) {
              const below = s.below;
              const rows = await finishedRunsAfter(db, appId, at, below, pageSize);
              if (s.closed) return null;
              readBelow = below;
              more = rows.length === pageSize;
              const last = rows[rows.length - 1];
              if (last) {
                at = { xid: last.finishXid ?? 0, id: last.id };
                return rows;
              }
              continue;
            }
            await new Promise<void>((resolve) => (s.wake = resolve));
          }
        },
        close,
      };
    },

    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      held.clear();
      for (const s of [...subscribers]) {
        s.closed = true;
        subscribers.delete(s);
        wake(s, s.below);
      }
    },
  };
}
