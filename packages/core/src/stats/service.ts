import type { Db } from "@switchyard/db";
import { requireScope, type Principal } from "../principal.ts";
import { getApp } from "../tenancy.ts";
import { deadLetterSeries, inboundSeries, mailSeries, queueNow, queueSeries, runSeries, type QueueBucket, type StatsScope } from "./series.ts";
import { bucketsFor, bucketStarts, type Buckets, type StatsWindow } from "./windows.ts";

type Series = number[];
type Gaps = Array<number | null>;

/**
 * One stats answer: every series has one point per bucket, in the order of
 * `buckets` (each bucket's start). Counts are 0 where nothing happened;
 * durations are null where nothing ran, and queue figures null where no
 * worker sampled the queue.
 */
export interface Stats {
  app_id: string | null;
  /** The workspace an instance-wide answer is limited to (a workspace token's); null for an app or the whole instance. */
  workspace_id: string | null;
  window: StatsWindow;
  bucket_seconds: number;
  from: string;
  to: string;
  buckets: string[];
  /** Finished attempts by status, by when they started. */
  runs: { ok: Series; error: Series; timeout: Series; oom: Series };
  /** Of the attempts in each bucket, all statuses together (ms). */
  duration_ms: { p50: Gaps; p95: Gaps };
  /** The highest sample of each bucket: all waiting events, those due, those running, and the age of the oldest due one (s). */
  queue: { depth: Gaps; due: Gaps; running: Gaps; oldest_due_seconds: Gaps };
  /** Dead letters made in each bucket that are still held. */
  dead_letters: Series;
  mail: { sent: Series; captured: Series; failed: Series };
  inbound: { email: { accepted: Series; refused: Series }; http: { accepted: Series; refused: Series } };
  /** The window's sums, and p50/p95 over every attempt in it. */
  totals: {
    runs: number;
    failed_runs: number;
    p50_ms: number | null;
    p95_ms: number | null;
    dead_letters: number;
    mail_sent: number;
    mail_failed: number;
    inbound_accepted: number;
    inbound_refused: number;
  };
  /** The queue at the moment of the answer. */
  queue_now: { depth: number; due: number; running: number; oldest_due_seconds: number | null };
}

const zeros = (n: number): Series => Array<number>(n).fill(0);
const gaps = (n: number): Gaps => Array<number | null>(n).fill(null);
const round1 = (v: number | null): number | null => (v === null ? null : Math.round(v * 10) / 10);
const seconds = (ms: number | null): number | null => (ms === null ? null : Math.round(ms) / 1000);
const sum = (s: Series) => s.reduce((a, v) => a + v, 0);

/** Puts each row's figures at its bucket; rows outside the window (a clock step) are left out. */
function place<R extends { b: number | null }>(rows: R[], count: number, put: (i: number, row: R) => void): void {
  for (const row of rows) {
    if (row.b === null) continue;
    const i = Number(row.b);
    if (i >= 0 && i < count) put(i, row);
  }
}

async function collect(db: Db, scope: StatsScope, b: Buckets): Promise<Omit<Stats, "app_id" | "workspace_id">> {
  // In turn, not at once: on PGlite the queries queue on one connection
  // anyway, and on PostgreSQL one answer should hold one pool connection.
  const runRows = await runSeries(db, scope, b);
  const deadRows = await deadLetterSeries(db, scope, b);
  const mailRows = await mailSeries(db, scope, b);
  const inboundRows = await inboundSeries(db, scope, b);
  const queueRows = await queueSeries(db, scope, b);
  const now = await queueNow(db, scope);

  const n = b.count;
  const runs = { ok: zeros(n), error: zeros(n), timeout: zeros(n), oom: zeros(n) };
  const duration = { p50: gaps(n), p95: gaps(n) };
  place(runRows, n, (i, r) => {
    runs.ok[i] = r.ok;
    runs.error[i] = r.error;
    runs.timeout[i] = r.timeout;
    runs.oom[i] = r.oom;
    duration.p50[i] = round1(r.p50);
    duration.p95[i] = round1(r.p95);
  });
  const whole = runRows.find((r) => r.b === null);
  const dead = zeros(n);
  place(deadRows, n, (i, r) => (dead[i] = r.n));
  const mail = { sent: zeros(n), captured: zeros(n), failed: zeros(n) };
  place(mailRows, n, (i, r) => {
    mail.sent[i] = r.sent;
    mail.captured[i] = r.captured;
    mail.failed[i] = r.failed;
  });
  const inbound = { email: { accepted: zeros(n), refused: zeros(n) }, http: { accepted: zeros(n), refused: zeros(n) } };
  place(inboundRows, n, (i, r) => {
    inbound.email.accepted[i] = r.email_accepted;
    inbound.email.refused[i] = r.email_refused;
    inbound.http.accepted[i] = r.http_accepted;
    inbound.http.refused[i] = r.http_refused;
  });
  const queue = { depth: gaps(n), due: gaps(n), running: gaps(n), oldest_due_seconds: gaps(n) };
  place<QueueBucket>(queueRows, n, (i, r) => {
    queue.depth[i] = r.depth;
    queue.due[i] = r.due;
    queue.running[i] = r.running;
    queue.oldest_due_seconds[i] = seconds(r.oldest_due_ms);
  });

  const failed = sum(runs.error) + sum(runs.timeout) + sum(runs.oom);
  return {
    window: b.window,
    bucket_seconds: b.seconds,
    from: b.from.toISOString(),
    to: b.to.toISOString(),
    buckets: bucketStarts(b),
    runs,
    duration_ms: duration,
    queue,
    dead_letters: dead,
    mail,
    inbound,
    totals: {
      runs: sum(runs.ok) + failed,
      failed_runs: failed,
      p50_ms: round1(whole?.p50 ?? null),
      p95_ms: round1(whole?.p95 ?? null),
      dead_letters: sum(dead),
      mail_sent: sum(mail.sent) + sum(mail.captured),
      mail_failed: sum(mail.failed),
      inbound_accepted: sum(inbound.email.accepted) + sum(inbound.http.accepted),
      inbound_refused: sum(inbound.email.refused) + sum(inbound.http.refused),
    },
    queue_now: { depth: now.depth, due: now.due, running: now.running, oldest_due_seconds: seconds(now.oldest_due_ms) },
  };
}

/**
 * The operator's view as time series: per app, or across every app the
 * token may see. Both need `runs:read`; a token limited to a workspace
 * gets that workspace's apps (and not the refusals that named no trigger,
 * which belong to no workspace).
 *
 * @example
 * const stats = createStatsService({ db });
 * const hour = await stats.forApp(principal, "billing", "1h"); // hour.runs.error[59]: failed attempts this minute
 * const day = await stats.forInstance(principal, "24h");        // 96 buckets of 15 minutes
 */
export function createStatsService(options: { db: Db; now?: () => Date }) {
  const { db } = options;
  const now = options.now ?? (() => new Date());
  return {
    /** An app's series (404 for an app the token cannot see). */
    async forApp(principal: Principal, appRef: string, window: StatsWindow): Promise<Stats> {
      requireScope(principal, "runs:read");
      const app = await getApp(db, principal, appRef);
      return { app_id: app.id, workspace_id: null, ...(await collect(db, { kind: "app", appId: app.id }, bucketsFor(window, now()))) };
    },

    /** Every app's series together: the whole instance, or the token's workspace. */
    async forInstance(principal: Principal, window: StatsWindow): Promise<Stats> {
      requireScope(principal, "runs:read");
      const workspaceId = principal.type === "token" ? principal.workspaceId : null;
      const scope: StatsScope = workspaceId === null ? { kind: "all" } : { kind: "workspace", workspaceId };
      return { app_id: null, workspace_id: workspaceId, ...(await collect(db, scope, bucketsFor(window, now()))) };
    },
  };
}

export type StatsService = ReturnType<typeof createStatsService>;
