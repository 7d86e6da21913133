/**
 * The systems under test, each driven the same way: a drain (N jobs
 * queued before the workers start; time until the last completion is
 * committed) and a latency phase (workers running; jobs enqueued one at a
 * time; enqueue commit to handler start).
 */
import { randomBytes } from "node:crypto";
import { createApp, enqueue, silentLogger, type Principal } from "@switchyard/core";
import { parseKeyring, type Keyring } from "@switchyard/crypto";
import { connect, migrate } from "@switchyard/db";
import { createServices } from "@switchyard/server";
import { Logger, makeWorkerUtils, run, type Runner } from "graphile-worker";
import postgres from "postgres";
import { startCpuMeter, type CpuSplit } from "../support/cpu-meter.ts";
import type { AssembledPeer } from "./assembled-peer.ts";
import { committedTransactions, sleep, vacuumScratch } from "./db-stats.ts";

const SYSTEM: Principal = { type: "system", id: "bench" };
/** Rows per enqueue transaction in the drain's setup (not timed). */
const ENQUEUE_BATCH = 500;
/** Jobs run (untimed) at the start of a latency phase: the isolate, connections, JIT. */
const LATENCY_WARMUP = 20;
const TIMEOUT_MS = 300_000;

export interface Scratch {
  url: string;
  adminUrl: string;
  name: string;
}

export interface DrainResult {
  jobs: number;
  seconds: number;
  /** Transactions committed on the scratch database during the drain, the bench's own queries taken out. */
  commits: number;
  /** CPU spent during the drain: this process's threads and PostgreSQL's processes. */
  cpu: CpuSplit;
}

export interface LatencyPlan {
  jobs: number;
  /** Pause after each enqueue, so jobs arrive one at a time. */
  spacingMs: number;
}

export interface System {
  drain(jobs: number): Promise<DrainResult>;
  /** Enqueue commit to handler start, in ms, one per job. */
  latency(plan: LatencyPlan): Promise<number[]>;
}

async function waitUntil(what: string, done: () => boolean): Promise<void> {
  const deadline = performance.now() + TIMEOUT_MS;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await sleep(1);
  }
}

/** A one-connection client for the bench's own checks; no type fetch, so connecting commits nothing. */
const checker = (url: string) => postgres(url, { max: 1, onnotice: () => {}, fetch_types: false, connect_timeout: 5 });

// ---------------------------------------------------------------- ours

/**
 * Migrates the scratch database and deploys the no-op script into one app,
 * through the same createServices wiring the server uses.
 */
export async function setupOurs(scratch: Scratch, concurrency: number): Promise<System> {
  const parsed = parseKeyring({ masterKey: randomBytes(32).toString("base64") });
  if (!parsed.ok) throw new Error(`bench keyring refused: ${parsed.error.message}`);
  const keyring: Keyring = parsed.value;
  const setup = await connect({ url: scratch.url, poolSize: 2, applicationName: "switchyard-bench-setup" });
  let appId: string;
  let scriptId: string;
  try {
    await migrate(setup.db);
    const services = createServices({ database: setup, keyring, logger: silentLogger, worker: false });
    const app = await createApp(setup.db, SYSTEM, { name: "bench-dispatcher" });
    const script = await services.scripts.deploy(SYSTEM, app.id, { name: "noop", source: "export default () => null", language: "js" });
    await services.stop();
    appId = app.id;
    scriptId = script.id;
  } finally {
    await setup.close();
  }
  const event = () => ({ appId, scriptId, kind: "manual", event: { kind: "manual" }, origin: "bench" });

  /** A worker process's wiring: its own pool (concurrency + 2, graphile-worker's default pool is 10 for 8), counting completions. */
  async function worker() {
    const database = await connect({ url: scratch.url, poolSize: concurrency + 2, applicationName: "switchyard-bench-worker" });
    const counts = { done: 0, notOk: 0 };
    const services = createServices({
      database,
      keyring,
      logger: silentLogger,
      settings: { workerConcurrency: concurrency },
      worker: true,
      observer: {
        claimed() {},
        completed(result, status) {
          counts.done++;
          if (result !== "done" || status !== "ok") counts.notOk++;
        },
      },
    });
    return {
      database,
      services,
      counts,
      async close() {
        try {
          await services.stop();
        } finally {
          await database.close();
        }
      },
    };
  }

  return {
    async drain(jobs) {
      const feeder = await connect({ url: scratch.url, poolSize: 1, applicationName: "switchyard-bench-feeder" });
      try {
        for (let i = 0; i < jobs; i += ENQUEUE_BATCH) {
          const size = Math.min(ENQUEUE_BATCH, jobs - i);
          await feeder.db.transaction(async (tx) => {
            for (let j = 0; j < size; j++) await enqueue(tx, event());
          });
        }
      } finally {
        await feeder.close();
      }
      await vacuumScratch(scratch.url);
      const before = await committedTransactions(scratch.adminUrl, scratch.name);
      const w = await worker();
      let seconds: number;
      let cpu: CpuSplit;
      try {
        const meter = startCpuMeter();
        const started = performance.now();
        await w.services.start();
        await waitUntil("the drain", () => w.counts.done >= jobs);
        seconds = (performance.now() - started) / 1000;
        cpu = meter.stop();
      } finally {
        await w.close();
      }
      const after = await committedTransactions(scratch.adminUrl, scratch.name);
      if (w.counts.notOk > 0) throw new Error(`bench: ${w.counts.notOk} of our runs did not complete ok`);
      const check = checker(scratch.url);
      try {
        const [row] = await check<{ queued: number; ok: number }[]>`
          select (select count(*) from outbox)::int as queued, (select count(*) from runs where status = 'ok')::int as ok`;
        if (row?.queued !== 0 || row.ok !== jobs) throw new Error(`bench: after our drain ${row?.queued} events are queued and ${row?.ok} ok runs exist, not 0 and ${jobs}`);
        await check`delete from runs`;
      } finally {
        await check.end({ timeout: 2 });
      }
      return { jobs, seconds, commits: after - before, cpu };
    },

    async latency(plan) {
      const w = await worker();
      const enqueuedAt = new Map<string, number>();
      try {
        await w.services.start();
        for (let i = 0; i < LATENCY_WARMUP; i++) await w.database.db.transaction((tx) => enqueue(tx, event()));
        await waitUntil("the warm-up runs", () => w.counts.done >= LATENCY_WARMUP);
        for (let i = 0; i < plan.jobs; i++) {
          const id = await w.database.db.transaction((tx) => enqueue(tx, event()));
          enqueuedAt.set(id, Date.now());
          await sleep(plan.spacingMs);
        }
        await waitUntil("the latency runs", () => w.counts.done >= LATENCY_WARMUP + plan.jobs);
      } finally {
        await w.close();
      }
      if (w.counts.notOk > 0) throw new Error(`bench: ${w.counts.notOk} of our runs did not complete ok`);
      const check = checker(scratch.url);
      try {
        // started_at is the host clock when the executor began the run (recorded with the run, not at its batched completion).
        const rows = await check<{ event_id: string; started_ms: string }[]>`
          select event_id, (extract(epoch from started_at) * 1000)::text as started_ms from runs where event_id = any(string_to_array(${[...enqueuedAt.keys()].join(",")}, ','))`;
        if (rows.length !== plan.jobs) throw new Error(`bench: ${rows.length} run rows for ${plan.jobs} latency events`);
        return rows.map((r) => Number(r.started_ms) - (enqueuedAt.get(r.event_id) as number));
      } finally {
        await check.end({ timeout: 2 });
      }
    },
  };
}

// ---------------------------------------------------------------- graphile-worker

export interface GraphileMode {
  name: string;
  /** What the mode sets, for the report. */
  config: string;
  preset?: { worker: { localQueue: { size: number }; completeJobBatchDelay: number; failJobBatchDelay: number } };
}

const silentGraphileLogger = new Logger(() => () => {});

/**
 * Installs graphile-worker's schema (graphile_worker) in the scratch database.
 * With `peer`, its task does the assembled peer's work (an isolate run, a run
 * row) after the job's start is recorded; the job counts as done after it.
 */
export async function setupGraphile(scratch: Scratch, concurrency: number, mode: GraphileMode, peer?: AssembledPeer): Promise<System> {
  const utilsOptions = { connectionString: scratch.url, logger: silentGraphileLogger };
  const utils = await makeWorkerUtils(utilsOptions);
  try {
    await utils.migrate();
  } finally {
    await utils.release();
  }
  // A failing task would be retried by graphile-worker, and the bench would wait out its timeout: stop at the first.
  let failure: unknown;
  const finished = (count: number, target: number) => {
    if (failure !== undefined) throw new Error("bench: the assembled peer's task failed", { cause: failure });
    return count >= target;
  };
  const start = (started: (payload: unknown) => void, done: () => void): Promise<Runner> =>
    run({
      connectionString: scratch.url,
      concurrency,
      noHandleSignals: true,
      // The same fallback poll as our dispatcher (NOTIFY wakes both).
      pollInterval: 250,
      logger: silentGraphileLogger,
      taskList: {
        noop: async (payload, helpers) => {
          started(payload);
          if (peer) {
            try {
              await peer.work(payload, helpers);
            } catch (error) {
              failure ??= error;
              throw error;
            }
          }
          done();
        },
      },
      ...(mode.preset ? { preset: mode.preset } : {}),
    });

  return {
    async drain(jobs) {
      const feeder = await makeWorkerUtils(utilsOptions);
      try {
        for (let i = 0; i < jobs; i += ENQUEUE_BATCH) {
          const size = Math.min(ENQUEUE_BATCH, jobs - i);
          await feeder.addJobs(Array.from({ length: size }, () => ({ identifier: "noop", payload: {} })));
        }
      } finally {
        await feeder.release();
      }
      await vacuumScratch(scratch.url);
      const check = checker(scratch.url);
      let ownQueries = 0;
      const queued = async () => {
        ownQueries++;
        const [row] = await check<{ n: number }[]>`select count(*)::int as n from graphile_worker._private_jobs`;
        return row?.n ?? -1;
      };
      let seconds: number;
      let after: number;
      try {
        const before = await committedTransactions(scratch.adminUrl, scratch.name);
        let done = 0;
        const meter = startCpuMeter();
        const started = performance.now();
        const runner = await start(() => {}, () => void done++);
        let cpu: CpuSplit;
        try {
          await waitUntil("the drain", () => finished(done, jobs));
          // Batched completion commits after the handler returns: the drain ends when the last job row is gone.
          while ((await queued()) !== 0) {
            if (performance.now() - started > TIMEOUT_MS) throw new Error("bench: graphile-worker's jobs were not deleted");
            await sleep(1);
          }
          seconds = (performance.now() - started) / 1000;
          cpu = meter.stop();
        } finally {
          await runner.stop();
        }
        after = await committedTransactions(scratch.adminUrl, scratch.name);
        if (done !== jobs) throw new Error(`bench: graphile-worker ran ${done} jobs for ${jobs} queued`);
        await peer?.checkAndClear(jobs);
        return { jobs, seconds, commits: after - before - ownQueries, cpu };
      } finally {
        await check.end({ timeout: 2 });
      }
    },

    async latency(plan) {
      const startedAt = new Map<string, number>();
      const enqueuedAt = new Map<string, number>();
      let done = 0;
      const runner = await start(
        (payload) => {
          const key = (payload as { k?: string }).k;
          if (key) startedAt.set(key, Date.now());
        },
        () => void done++,
      );
      const utils = await makeWorkerUtils(utilsOptions);
      try {
        for (let i = 0; i < LATENCY_WARMUP; i++) await utils.addJob("noop", {});
        await waitUntil("the warm-up jobs", () => finished(done, LATENCY_WARMUP));
        for (let i = 0; i < plan.jobs; i++) {
          const key = `l${i}`;
          await utils.addJob("noop", { k: key });
          enqueuedAt.set(key, Date.now());
          await sleep(plan.spacingMs);
        }
        await waitUntil("the latency jobs", () => finished(done, LATENCY_WARMUP + plan.jobs));
      } finally {
        await utils.release();
        await runner.stop();
      }
      await peer?.checkAndClear(LATENCY_WARMUP + plan.jobs);
      return [...enqueuedAt].map(([key, at]) => (startedAt.get(key) as number) - at);
    },
  };
}
