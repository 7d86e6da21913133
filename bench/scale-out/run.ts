/**
 * bench/scale-out: how the drain grows with worker processes on one
 * PostgreSQL. The same backlog of no-op runs is drained by 1, 2 and 4 real
 * `switchyard serve --role worker` processes, taken in turn each round; the
 * peer is the one-worker drain of the same run, so the figure to read is the
 * ratio against it (the speed-up).
 *
 * @example
 * pnpm --filter @switchyard/bench bench:scale-out            # 20,000 runs a drain, 3 rounds
 * pnpm --filter @switchyard/bench bench:scale-out --quick    # 2,000 runs, one round
 * pnpm --filter @switchyard/bench --silent bench:scale-out --json
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { createApp, enqueue, OUTBOX_CHANNEL, silentLogger, type Principal } from "@switchyard/core";
import { parseKeyring } from "@switchyard/crypto";
import { connect, migrate } from "@switchyard/db";
import { createServices } from "@switchyard/server";
import postgres from "postgres";
import { sleep, vacuumScratch } from "../dispatcher/db-stats.ts";
import { machineInfo } from "../support/machine.ts";
import { parseBenchOptions } from "../support/options.ts";
import { createScratchDatabase } from "../support/scratch-postgres.ts";
import { formatRate } from "../support/stats.ts";
import { renderTable } from "../support/table.ts";
import { startWorkers } from "./workers.ts";

const DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";
const SYSTEM: Principal = { type: "system", id: "bench" };
const DRAIN_TIMEOUT_MS = 600_000;

const USAGE = `usage: bench:scale-out [--quick] [--jobs N] [--workers 1,2,4] [--rounds N] [--concurrency N] [--url URL] [--json]
  --quick         2,000 runs a drain, one round (figures are rough)
  --jobs          runs per drain (default 20,000)
  --workers       worker-process counts to compare, the first is the peer (default 1,2,4)
  --rounds        drains per count, taken in turn (default 3); the median is reported
  --concurrency   runs in flight per worker process (default 8, the service's default)
  --url           PostgreSQL to create the scratch database on (default ${DEFAULT_ADMIN_URL})
  --json          one JSON object on stdout`;

interface Drain {
  workers: number;
  jobs: number;
  seconds: number;
}

async function main(): Promise<void> {
  const options = parseBenchOptions(
    () =>
      parseArgs({
        options: {
          quick: { type: "boolean" },
          jobs: { type: "string" },
          workers: { type: "string" },
          rounds: { type: "string" },
          concurrency: { type: "string" },
          url: { type: "string" },
          json: { type: "boolean" },
          help: { type: "boolean", short: "h" },
        },
        strict: true,
      }).values,
    USAGE,
  );
  if (!options) return;
  const jobs = positive(options.jobs, options.quick ? 2_000 : 20_000, "--jobs");
  const rounds = positive(options.rounds, options.quick ? 1 : 3, "--rounds");
  const concurrency = positive(options.concurrency, 8, "--concurrency");
  const counts = (options.workers ?? "1,2,4").split(",").map((s) => positive(s.trim(), 0, "--workers"));
  const adminUrl = options.url ?? DEFAULT_ADMIN_URL;
  const say = options.json ? (_: string) => {} : (line: string) => console.log(line);

  const scratch = await createScratchDatabase(adminUrl, "sy_bench_scale");
  const stopOnSignal = () => void scratch.drop().finally(() => process.exit(130));
  process.once("SIGINT", stopOnSignal);
  try {
    const masterKey = randomBytes(32).toString("base64");
    await prepare(scratch.url, masterKey);
    const drains: Drain[] = [];
    for (let round = 0; round < rounds; round++) {
      // The count that goes first changes every round, so drift falls on all alike.
      const order = counts.map((_, i) => counts[(i + round) % counts.length] as number);
      for (const workers of order) {
        const drain = await drainWith(scratch.url, masterKey, workers, jobs, concurrency, round);
        drains.push(drain);
        say(`round ${round + 1}/${rounds}: ${workers} worker(s) drained ${jobs} runs in ${drain.seconds.toFixed(2)} s (${formatRate(jobs / drain.seconds)})`);
      }
    }
    report(drains, counts, { jobs, rounds, concurrency, serverVersion: scratch.serverVersion }, options.json === true);
  } finally {
    process.off("SIGINT", stopOnSignal);
    await scratch.drop();
  }
}

function positive(text: string | undefined, fallback: number, flag: string): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a whole number of at least 1, not ${JSON.stringify(text)}`);
  return n;
}

/**
 * Migrates the scratch database, deploys a no-op script into one app, and
 * keeps one enqueued event (written by core's own `enqueue`) as the template
 * every drain's backlog is copied from.
 */
async function prepare(url: string, masterKey: string): Promise<void> {
  const parsed = parseKeyring({ masterKey });
  if (!parsed.ok) throw new Error(`bench keyring refused: ${parsed.error.message}`);
  const setup = await connect({ url, poolSize: 2, applicationName: "switchyard-bench-setup" });
  try {
    await migrate(setup.db);
    const services = createServices({ database: setup, keyring: parsed.value, logger: silentLogger, worker: false });
    const app = await createApp(setup.db, SYSTEM, { name: "bench-scale-out" });
    const script = await services.scripts.deploy(SYSTEM, app.id, { name: "noop", source: "export default () => null", language: "js" });
    await services.stop();
    const id = await setup.db.transaction((tx) => enqueue(tx, { appId: app.id, scriptId: script.id, kind: "manual", event: { kind: "manual" }, origin: "bench" }));
    await withSql(url, async (sql) => {
      await sql`create table bench_template as select * from outbox where id = ${id}`;
      await sql`delete from outbox where id = ${id}`;
    });
  } finally {
    await setup.close();
  }
}

/**
 * Starts the workers on an empty queue, then commits the whole backlog in one
 * statement (its NOTIFY wakes every worker at once) and times from that
 * commit to the last run's `finished_at`.
 */
async function drainWith(url: string, masterKey: string, workers: number, jobs: number, concurrency: number, round: number): Promise<Drain> {
  await withSql(url, (sql) => sql`delete from runs`);
  await vacuumScratch(url);
  const fleet = await startWorkers(workers, { databaseUrl: url, masterKey, concurrency });
  try {
    return await withSql(url, async (sql) => {
      const [committed] = await sql.begin(async (tx) => {
        await tx`
          insert into outbox (id, app_id, script_id, trigger_id, kind, event, retry, depth, origin)
          select 'evt_bench_' || ${`${workers}_${round}_`} || g, app_id, script_id, trigger_id, kind, event, retry, depth, origin
          from bench_template cross join generate_series(1, ${jobs}::int) g`;
        await tx`select pg_notify(${OUTBOX_CHANNEL}, '')`;
        return [Date.now()];
      });
      const deadline = Date.now() + DRAIN_TIMEOUT_MS;
      for (;;) {
        const [row] = await sql<{ ok: number; other: number; last_ms: string | null }[]>`
          select count(*) filter (where status = 'ok')::int as ok, count(*) filter (where status <> 'ok')::int as other,
                 (extract(epoch from max(finished_at)) * 1000)::text as last_ms
          from runs`;
        if (row && row.other > 0) throw new Error(`bench: ${row.other} runs did not end ok`);
        if (row && row.ok >= jobs && row.last_ms) {
          const [queued] = await sql<{ n: number }[]>`select count(*)::int as n from outbox`;
          if (queued?.n !== 0) throw new Error(`bench: ${queued?.n} events still queued after ${jobs} ok runs`);
          return { workers, jobs, seconds: (Number(row.last_ms) - (committed as number)) / 1000 };
        }
        if (Date.now() > deadline) throw new Error(`bench: ${workers} worker(s) ran ${row?.ok ?? 0} of ${jobs} within ${DRAIN_TIMEOUT_MS} ms`);
        await sleep(50);
      }
    });
  } finally {
    await fleet.stop();
  }
}

async function withSql<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 2 });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function report(drains: Drain[], counts: number[], plan: { jobs: number; rounds: number; concurrency: number; serverVersion: string }, json: boolean): void {
  const rate = (workers: number) => median(drains.filter((d) => d.workers === workers).map((d) => d.jobs / d.seconds));
  const peer = rate(counts[0] as number);
  const rows = counts.map((workers) => {
    const perSecond = rate(workers);
    const every = drains.filter((d) => d.workers === workers).map((d) => Math.round(d.jobs / d.seconds));
    return { workers, perSecond, every, ratio: perSecond / peer, perWorker: perSecond / peer / (workers / (counts[0] as number)) };
  });
  const machine = machineInfo();
  if (json) {
    console.log(JSON.stringify({ machine, postgres: plan.serverVersion, plan, rows }));
    return;
  }
  console.log(`\n${machine.node} on ${machine.cpu} (${machine.cores} cores), PostgreSQL ${plan.serverVersion}, the same machine`);
  console.log(`${plan.jobs} no-op runs a drain, ${plan.concurrency} in flight per worker process, ${plan.rounds} drain(s) per count; median\n`);
  console.log(
    renderTable(
      ["worker processes", "runs/s (median)", "every drain", `vs ${counts[0]} worker(s)`, "per worker"],
      rows.map((r) => [String(r.workers), formatRate(r.perSecond), r.every.join(" "), `${r.ratio.toFixed(2)}×`, `${r.perWorker.toFixed(2)}×`]),
      [1, 3, 4],
    ),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
