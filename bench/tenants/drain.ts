/**
 * The drain of issue #18: a backlog of no-op events spread round-robin over
 * N apps (each its own deployed script) drained by one `switchyard serve`
 * process at its defaults. Per N: runs/s, the isolates the process made
 * (cold starts), its resident memory (peak and at the end) and its CPU.
 */
import { loadavg } from "node:os";
import { createApp, enqueue, OUTBOX_CHANNEL, silentLogger, type Principal } from "@switchyard/core";
import { parseKeyring } from "@switchyard/crypto";
import { connect, migrate } from "@switchyard/db";
import { createServices } from "@switchyard/server";
import postgres from "postgres";
import { sleep, vacuumScratch } from "../dispatcher/db-stats.ts";
import { scrapeIsolateMetrics, type IsolateMetrics } from "./isolate-metrics.ts";
import { cpuMsOf, memoryOf, type Memory } from "./proc.ts";
import { startServe, type ServeProcess } from "./serve.ts";

const SYSTEM: Principal = { type: "system", id: "bench" };
const POLL_MS = 100;
const WARM_UP_WAIT_MS = 10_000;
const SETTLED_MS = 1_000;
const SETUP_PARALLEL = 8;

export interface DrainResult {
  apps: number;
  jobs: number;
  /** Runs ended ok; below `jobs` only when the drain hit its time limit. */
  completed: number;
  seconds: number;
  timedOut: boolean;
  /** Isolates the process constructed during the drain (count-isolates.cjs). */
  isolatesCreated: number;
  /** The process's /metrics isolate figures at the end; `created` is its count's growth during the drain (null when it has none). */
  metrics: IsolateMetrics;
  /** Resident memory once started (before the backlog), and at the drain's end with its peak. */
  memoryAtStart: Memory | null;
  memoryAtEnd: Memory | null;
  /** CPU of all the process's threads during the drain, ms. */
  cpuMs: number | null;
  /** The machine's 1-minute load average at the drain's end. */
  load: number;
}

/**
 * Migrates the scratch database and makes `apps` apps, each with its own
 * deployed `export default () => null`, through the same services the API
 * uses; one enqueued event per app (core's own `enqueue`) is kept in
 * `bench_template`, numbered 0..apps-1, as the rows every backlog copies.
 */
export async function prepareApps(url: string, masterKey: string, apps: number): Promise<void> {
  const parsed = parseKeyring({ masterKey });
  if (!parsed.ok) throw new Error(`bench keyring refused: ${parsed.error.message}`);
  const setup = await connect({ url, poolSize: SETUP_PARALLEL, applicationName: "switchyard-bench-setup" });
  try {
    await migrate(setup.db);
    const services = createServices({ database: setup, keyring: parsed.value, logger: silentLogger, worker: false });
    const ids: string[] = new Array(apps);
    const makeApp = async (i: number) => {
      const app = await createApp(setup.db, SYSTEM, { name: `bench-tenant-${i}` });
      const script = await services.scripts.deploy(SYSTEM, app.id, { name: "noop", source: "export default () => null", language: "js" });
      ids[i] = await setup.db.transaction((tx) => enqueue(tx, { appId: app.id, scriptId: script.id, kind: "manual", event: { kind: "manual" }, origin: "bench" }));
    };
    try {
      // Each app is a few durable commits, each waiting for the WAL flush: several at once, or 1,000 apps take half a minute.
      for (let i = 0; i < apps; i += SETUP_PARALLEL) {
        await Promise.all(Array.from({ length: Math.min(SETUP_PARALLEL, apps - i) }, (_, j) => makeApp(i + j)));
      }
    } finally {
      await services.stop();
    }
    await withSql(url, async (sql) => {
      await sql`create table bench_template as select o.*, t.k - 1 as k from outbox o join unnest(${ids}::text[]) with ordinality t(id, k) on t.id = o.id`;
      await sql`delete from outbox`;
    });
  } finally {
    await setup.close();
  }
}

/**
 * Starts the process on an empty queue, then commits the whole backlog in one
 * statement (its NOTIFY wakes the claim loop) and times from that commit to
 * the last run's `finished_at`. Event g goes to app g mod `apps`, and run_at
 * rises with g, so claims (in run_at order) take the apps in turn.
 */
export async function drain(url: string, masterKey: string, plan: { apps: number; jobs: number; timeoutMs: number }): Promise<DrainResult> {
  const { apps, jobs, timeoutMs } = plan;
  await withSql(url, (sql) => sql`delete from runs`);
  await vacuumScratch(url);
  const server = await startServe({ databaseUrl: url }, masterKey, false);
  try {
    await warmUpsMade(server);
    return await withSql(url, async (sql) => {
      const metricsAtStart = await scrapeIsolateMetrics(server.url);
      const memoryAtStart = memoryOf(server.pid);
      const isolatesBefore = server.isolatesCreated();
      const cpuBefore = cpuMsOf(server.pid);
      const committed = await sql.begin(async (tx) => {
        await tx`
          insert into outbox (id, app_id, script_id, trigger_id, kind, event, retry, depth, origin, run_at)
          select 'evt_bench_' || ${apps} || '_' || g, t.app_id, t.script_id, t.trigger_id, t.kind, t.event, t.retry, t.depth, t.origin,
                 now() - (${jobs}::int - g) * interval '1 microsecond'
          from generate_series(0, ${jobs}::int - 1) g join bench_template t on t.k = g % ${apps}::int`;
        await tx`select pg_notify(${OUTBOX_CHANNEL}, '')`;
        return Date.now();
      });
      const deadline = committed + timeoutMs;
      for (;;) {
        const [row] = await sql<{ ok: number; other: number; last_ms: string | null }[]>`
          select count(*) filter (where status = 'ok')::int as ok, count(*) filter (where status <> 'ok')::int as other,
                 (extract(epoch from max(finished_at)) * 1000)::text as last_ms
          from runs`;
        if (row && row.other > 0) throw new Error(`bench: ${row.other} runs did not end ok`);
        const done = row !== undefined && row.ok >= jobs && row.last_ms !== null;
        const timedOut = !done && Date.now() > deadline;
        if (done || timedOut) {
          const memoryAtEnd = memoryOf(server.pid);
          const cpuAfter = cpuMsOf(server.pid);
          const metrics = await scrapeIsolateMetrics(server.url);
          const metricsCreated = metrics.created !== null && metricsAtStart.created !== null ? metrics.created - metricsAtStart.created : null;
          if (done) {
            const [queued] = await sql<{ n: number }[]>`select count(*)::int as n from outbox`;
            if (queued?.n !== 0) throw new Error(`bench: ${queued?.n} events still queued after ${jobs} ok runs`);
          }
          return {
            apps,
            jobs,
            completed: row?.ok ?? 0,
            seconds: done ? (Number(row.last_ms) - committed) / 1000 : (Date.now() - committed) / 1000,
            timedOut,
            isolatesCreated: server.isolatesCreated() - isolatesBefore,
            metrics: { ...metrics, created: metricsCreated },
            memoryAtStart,
            memoryAtEnd,
            cpuMs: cpuBefore !== null && cpuAfter !== null ? cpuAfter - cpuBefore : null,
            load: loadavg()[0] as number,
          };
        }
        await sleep(POLL_MS);
      }
    });
  } finally {
    const code = await server.stop();
    // A drain cut short leaves its backlog behind; the next one starts empty.
    await withSql(url, (sql) => sql`delete from outbox`);
    if (code !== 0 && code !== null) console.error(`bench: switchyard serve exited ${code} at stop:\n${server.tail()}`);
  }
}

/**
 * At start the process makes a few throwaway isolates of its own (each
 * executor's code-cache warm-ups, executor/runtime-script.ts and
 * executor/sdk-warmup.ts), a moment after it says it started. Waiting
 * until the count holds still keeps them out of the drain's count, which is
 * then the apps' isolates alone.
 */
async function warmUpsMade(server: ServeProcess): Promise<void> {
  const deadline = Date.now() + WARM_UP_WAIT_MS;
  let seen = server.isolatesCreated();
  let since = Date.now();
  while (Date.now() - since < SETTLED_MS && Date.now() < deadline) {
    await sleep(50);
    if (server.isolatesCreated() !== seen) {
      seen = server.isolatesCreated();
      since = Date.now();
    }
  }
}

export async function withSql<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 2 });
  }
}
