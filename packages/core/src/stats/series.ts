import { sql, type SQL } from "drizzle-orm";
import { resultRows, type Db } from "@switchyard/db";
import type { Buckets } from "./windows.ts";

/** Whose figures: one app, the apps of one workspace, or every app (with what belongs to no app). */
export type StatsScope = { kind: "app"; appId: string } | { kind: "workspace"; workspaceId: string } | { kind: "all" };

/**
 * Which rows of a table with an `app_id` the scope covers. Every source has
 * an index that starts with `app_id` and goes on with its time column; a
 * workspace or the whole instance reaches it through the apps (a semi-join
 * probing it once per app) instead of reading the table end to end.
 */
function appFilter(scope: StatsScope, column: SQL): SQL {
  switch (scope.kind) {
    case "app":
      return sql`${column} = ${scope.appId}`;
    case "workspace":
      return sql`${column} in (select id from apps where workspace_id = ${scope.workspaceId})`;
    case "all":
      return sql`${column} in (select id from apps)`;
  }
}

/** The bucket a timestamp falls in (0 is the oldest); rows are already limited to the window. */
function bucketOf(column: SQL, b: Buckets): SQL {
  return sql`floor(extract(epoch from (${column} - ${b.from.toISOString()}::timestamptz)) / ${b.seconds})::int`;
}

const since = (b: Buckets) => sql`${b.from.toISOString()}::timestamptz`;

export interface RunBucket {
  b: number | null;
  ok: number;
  error: number;
  timeout: number;
  oom: number;
  p50: number | null;
  p95: number | null;
}

/**
 * Finished attempts per bucket by status, with p50 and p95 of their
 * durations; the row with a null bucket is the whole window (a percentile
 * of the window cannot be made from the buckets' percentiles). One scan of
 * `runs_app_started`.
 */
export async function runSeries(db: Db, scope: StatsScope, b: Buckets): Promise<RunBucket[]> {
  const result = await db.execute(sql`
    select b,
      count(*) filter (where status = 'ok')::int as ok,
      count(*) filter (where status = 'error')::int as error,
      count(*) filter (where status = 'timeout')::int as timeout,
      count(*) filter (where status = 'oom')::int as oom,
      percentile_cont(0.5) within group (order by duration_ms)::float8 as p50,
      percentile_cont(0.95) within group (order by duration_ms)::float8 as p95
    from (
      select ${bucketOf(sql`r.started_at`, b)} as b, r.status, r.duration_ms
      from runs r
      where ${appFilter(scope, sql`r.app_id`)} and r.started_at >= ${since(b)} and r.status <> 'running'
    ) r
    group by grouping sets ((b), ())`);
  return resultRows<RunBucket>(result);
}

/** Dead letters made per bucket (those still held: a replayed or deleted one is gone from the table). */
export async function deadLetterSeries(db: Db, scope: StatsScope, b: Buckets): Promise<Array<{ b: number; n: number }>> {
  const result = await db.execute(sql`
    select ${bucketOf(sql`d.created_at`, b)} as b, count(*)::int as n
    from dead_letters d
    where ${appFilter(scope, sql`d.app_id`)} and d.created_at >= ${since(b)}
    group by 1`);
  return resultRows(result);
}

/** Messages scripts sent, captured (dev, no SMTP) and failed to send, per bucket, from the send log. */
export async function mailSeries(db: Db, scope: StatsScope, b: Buckets): Promise<Array<{ b: number; sent: number; captured: number; failed: number }>> {
  const result = await db.execute(sql`
    select ${bucketOf(sql`m.created_at`, b)} as b,
      count(*) filter (where m.status = 'sent')::int as sent,
      count(*) filter (where m.status = 'captured')::int as captured,
      count(*) filter (where m.status = 'failed')::int as failed
    from email_messages m
    where ${appFilter(scope, sql`m.app_id`)} and m.created_at >= ${since(b)}
    group by 1`);
  return resultRows(result);
}

export interface InboundBucket {
  b: number;
  email_accepted: number;
  email_refused: number;
  http_accepted: number;
  http_refused: number;
}

/** Inbound email and http-trigger requests accepted and refused, per bucket (the whole instance counts refusals that named no trigger). */
export async function inboundSeries(db: Db, scope: StatsScope, b: Buckets): Promise<InboundBucket[]> {
  const where = scope.kind === "all" ? sql`true` : appFilter(scope, sql`i.app_id`);
  const result = await db.execute(sql`
    select ${bucketOf(sql`i.minute`, b)} as b,
      coalesce(sum(i.accepted) filter (where i.channel = 'email'), 0)::int as email_accepted,
      coalesce(sum(i.refused) filter (where i.channel = 'email'), 0)::int as email_refused,
      coalesce(sum(i.accepted) filter (where i.channel = 'http'), 0)::int as http_accepted,
      coalesce(sum(i.refused) filter (where i.channel = 'http'), 0)::int as http_refused
    from inbound_minutes i
    where ${where} and i.minute >= ${since(b)}
    group by 1`);
  return resultRows(result);
}

export interface QueueBucket {
  b: number;
  depth: number;
  due: number;
  running: number;
  oldest_due_ms: number | null;
}

/**
 * The highest queue sample in each bucket. Only sampled minutes count (the
 * instance row marks them); an app with no row in a sampled minute had an
 * empty queue then, and a bucket with no sampled minute has no row at all.
 * A workspace's figure for a minute is the sum over its apps.
 */
export async function queueSeries(db: Db, scope: StatsScope, b: Buckets): Promise<QueueBucket[]> {
  const mine = scope.kind === "all" ? sql`q.app_id is null` : appFilter(scope, sql`q.app_id`);
  const result = await db.execute(sql`
    select b, max(depth)::int as depth, max(due)::int as due, max(running)::int as running, max(oldest)::float8 as oldest_due_ms
    from (
      select ${bucketOf(sql`m.minute`, b)} as b,
        coalesce(s.depth, 0) as depth, coalesce(s.due, 0) as due, coalesce(s.running, 0) as running, s.oldest
      from queue_samples m
      cross join lateral (
        select sum(q.depth) as depth, sum(q.due) as due, sum(q.running) as running, max(q.oldest_due_ms) as oldest
        from queue_samples q
        where q.minute = m.minute and ${mine}
      ) s
      where m.app_id is null and m.minute >= ${since(b)}
    ) x
    group by b`);
  return resultRows(result);
}

export interface QueueNow {
  depth: number;
  due: number;
  running: number;
  oldest_due_ms: number | null;
}

/** The outbox as it stands now, for the scope (the same rules as the sampler and the Prometheus gauges). */
export async function queueNow(db: Db, scope: StatsScope): Promise<QueueNow> {
  const where = scope.kind === "all" ? sql`true` : appFilter(scope, sql`o.app_id`);
  const result = await db.execute(sql`
    select count(*)::int as depth,
      count(*) filter (where o.run_at <= now() and (o.lease_until is null or o.lease_until < now()))::int as due,
      count(*) filter (where o.lease_until >= now())::int as running,
      (extract(epoch from now() - min(o.run_at) filter (where o.run_at <= now() and (o.lease_until is null or o.lease_until < now()))) * 1000)::float8 as oldest_due_ms
    from outbox o
    where ${where}`);
  const [row] = resultRows<QueueNow>(result);
  return row ?? { depth: 0, due: 0, running: 0, oldest_due_ms: null };
}
