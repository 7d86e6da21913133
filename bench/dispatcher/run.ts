/**
 * bench/dispatcher: our full outbox path (claim, load, isolate run, fenced
 * completion) against graphile-worker 0.17.3 and against the assembled peer
 * (graphile-worker batched running the same script in one reused isolated-vm
 * context, with and without a run row), in one run on one PostgreSQL
 * database: drain throughput, commits per job, and enqueue-to-start latency.
 *
 * @example
 * pnpm --filter @switchyard/bench bench:dispatcher           # N = 20,000, 3 drains per system in turn, a few minutes
 * pnpm --filter @switchyard/bench bench:dispatcher --quick   # N = 1,000, smoke run
 */
import { parseArgs } from "node:util";
import { machineInfo } from "../support/machine.ts";
import { createScratchDatabase, type ScratchDatabase } from "../support/scratch-postgres.ts";
import { formatRate, percentile } from "../support/stats.ts";
import { renderTable } from "../support/table.ts";
import { createAssembledPeer, type AssembledPeer } from "./assembled-peer.ts";
import { setupGraphile, setupOurs, type DrainResult, type GraphileMode, type LatencyPlan, type Scratch, type System } from "./systems.ts";
import { parseBenchOptions } from "../support/options.ts";

const DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

const USAGE = `usage: bench:dispatcher [--quick] [--concurrency N] [--url postgres://user@host:port/db]
  --quick         a smoke run: 1,000 jobs per drain, 100 latency samples (figures are rough)
  --concurrency   jobs in flight per worker, the same for every system (default 8)
  --url           PostgreSQL to create the scratch database on (default ${DEFAULT_ADMIN_URL})
  node needs --no-node-snapshot (isolated-vm on Node 20); the package script passes it.`;

interface Plan {
  drainJobs: number;
  /** Drains per system, taken in turn (ours, then each peer, again); each system's median is reported. */
  rounds: number;
  latency: LatencyPlan;
}
const FULL: Plan = { drainJobs: 20_000, rounds: 3, latency: { jobs: 500, spacingMs: 5 } };
const QUICK: Plan = { drainJobs: 1_000, rounds: 1, latency: { jobs: 100, spacingMs: 5 } };

// The targets the issues set: #5 (the dispatcher) and #17 (the sandbox tax).
const THROUGHPUT_TARGET = 1.0;
const LATENCY_TARGET = 1.3;
const PEER_WITH_HISTORY_TARGET = 1.0;
const BATCHED_TARGET_17 = 0.7;

const batchedMode = (concurrency: number): GraphileMode => {
  const size = Math.max(100, concurrency * 10);
  return {
    name: "graphile-worker, batched",
    config: `localQueue.size ${size}, completeJobBatchDelay 10 ms, failJobBatchDelay 10 ms`,
    preset: { worker: { localQueue: { size }, completeJobBatchDelay: 10, failJobBatchDelay: 10 } },
  };
};
const graphileModes = (concurrency: number): GraphileMode[] => [
  { name: "graphile-worker, unbatched", config: "defaults (localQueue off, completion per job)" },
  batchedMode(concurrency),
];
const PEER_ENTRY = "the task enters one reused isolated-vm context: applySync of the handler's Reference (arguments and result copied, timeout 5 s, 64 MB isolate)";
const assembledPeers = (concurrency: number) => [
  { name: "assembled peer", history: false, config: `graphile-worker batched (${batchedMode(concurrency).config}); ${PEER_ENTRY}` },
  { name: "assembled peer + run history", history: true, config: "the same, and one INSERT per job of a run row into peer_runs (LIKE runs INCLUDING ALL, plus runs' foreign keys: none since migration 0017)" },
];

interface Row {
  name: string;
  config: string;
  /** The median drain by throughput; `drains` holds every round's. */
  drain: DrainResult;
  drains: DrainResult[];
  latencyMs: number[];
}

async function main(): Promise<void> {
  const values = parseBenchOptions(
    () =>
      parseArgs({
        options: {
          quick: { type: "boolean", default: false },
          concurrency: { type: "string", default: "8" },
          url: { type: "string", default: DEFAULT_ADMIN_URL },
          help: { type: "boolean", short: "h", default: false },
        },
        strict: true,
      }).values,
    USAGE,
  );
  if (!values) return;
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    console.error(`--concurrency must be a positive integer\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (!process.execArgv.includes("--no-node-snapshot") && !process.env.NODE_OPTIONS?.includes("--no-node-snapshot")) {
    console.warn("bench: node runs without --no-node-snapshot; isolated-vm may crash on Node 20 (use the package script)");
  }
  const plan = values.quick ? QUICK : FULL;
  const started = performance.now();

  const scratchDb = await createScratchDatabase(values.url, "sy_bench");
  // Ctrl-C: drop the scratch database (ending the workers' connections) and leave.
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\nbench: ${signal}, dropping the scratch database`);
    void scratchDb.drop().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let rows: Row[];
  try {
    rows = await measure(scratchDb, values.url, concurrency, plan);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await scratchDb.drop();
  }
  report(rows, scratchDb, concurrency, plan, values.quick, (performance.now() - started) / 1000);
}

async function measure(db: ScratchDatabase, adminUrl: string, concurrency: number, plan: Plan): Promise<Row[]> {
  const scratch: Scratch = { url: db.url, adminUrl, name: db.name };
  const systems: { name: string; config: string; system: System }[] = [
    { name: "switchyard dispatcher", config: "createServices worker, isolate run, fenced completion", system: await setupOurs(scratch, concurrency) },
  ];
  for (const mode of graphileModes(concurrency)) systems.push({ name: mode.name, config: mode.config, system: await setupGraphile(scratch, concurrency, mode) });
  const peers: AssembledPeer[] = [];
  try {
    for (const { name, history, config } of assembledPeers(concurrency)) {
      const peer = await createAssembledPeer(scratch, { history });
      peers.push(peer);
      systems.push({ name, config, system: await setupGraphile(scratch, concurrency, batchedMode(concurrency), peer) });
    }
    return await measureSystems(systems, plan);
  } finally {
    for (const peer of peers) peer.close();
  }
}

async function measureSystems(systems: { name: string; config: string; system: System }[], plan: Plan): Promise<Row[]> {
  // Drains alternate between the systems, round after round, so a slow
  // spell of a shared machine falls on all of them rather than on one.
  const drains = systems.map(() => [] as DrainResult[]);
  for (let round = 0; round < plan.rounds; round++) {
    for (const [i, { name, system }] of systems.entries()) {
      console.error(`bench: ${name}: draining ${plan.drainJobs.toLocaleString("en-US")} jobs (round ${round + 1} of ${plan.rounds})…`);
      drains[i]?.push(await system.drain(plan.drainJobs));
    }
  }
  const rows: Row[] = [];
  for (const [i, { name, config, system }] of systems.entries()) {
    console.error(`bench: ${name}: ${plan.latency.jobs} jobs one at a time…`);
    const latencyMs = await system.latency(plan.latency);
    const all = drains[i] ?? [];
    rows.push({ name, config, drain: medianDrain(all), drains: all, latencyMs });
  }
  return rows;
}

/** Each CPU part's median over a system's drains, per job, as table cells. */
function cpuRow(r: Row): string[] {
  const part = (pick: (d: DrainResult) => number | null) => {
    const values = r.drains.map((d) => {
      const us = pick(d);
      return us === null ? null : us / d.jobs;
    }).filter((v): v is number => v !== null);
    return values.length === 0 ? null : percentile([...values].sort((a, b) => a - b), 50);
  };
  const parts = [part((d) => d.cpu.mainUs), part((d) => d.cpu.otherThreadsUs), part((d) => d.cpu.postgresUs)];
  const cell = (v: number | null) => (v === null ? "n/a" : v.toFixed(0));
  const total = parts.every((v) => v !== null) ? parts.reduce((a, b) => (a as number) + (b as number), 0) : null;
  return [r.name, ...parts.map(cell), cell(total)];
}

/** The drain with the median throughput. */
function medianDrain(drains: DrainResult[]): DrainResult {
  const sorted = [...drains].sort((a, b) => a.jobs / a.seconds - b.jobs / b.seconds);
  const median = sorted[(sorted.length - 1) >> 1];
  if (!median) throw new Error("bench: no drain was measured");
  return median;
}

const ms = (x: number) => `${x.toFixed(1)} ms`;
const ratio = (x: number) => `${x.toFixed(2)}×`;

function report(rows: Row[], db: ScratchDatabase, concurrency: number, plan: Plan, quick: boolean, elapsedS: number): void {
  const machine = machineInfo();
  console.log(`bench/dispatcher — ${quick ? "QUICK smoke run (few jobs, figures are rough)" : "full run"}`);
  console.log(`node ${machine.node} · ${machine.platform} · ${machine.cpu} · ${machine.cores} cores · ${machine.memoryGiB} GiB`);
  console.log(`PostgreSQL ${db.serverVersion} (database ${db.name}, dropped at exit) · concurrency ${concurrency} for every system`);
  console.log(`drain: ${plan.drainJobs.toLocaleString("en-US")} no-op jobs queued before the workers start · latency: ${plan.latency.jobs} jobs enqueued one at a time, ${plan.latency.spacingMs} ms apart`);
  console.log("");
  const stat = (r: Row) => {
    const sorted = [...r.latencyMs].sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  };
  console.log(
    renderTable(
      ["system", "jobs/s", "drain", "commits/job", "start p50", "start p99", "samples", "jobs/s, every round"],
      rows.map((r) => {
        const s = stat(r);
        const every = r.drains.map((d) => formatRate(d.jobs / d.seconds)).join(" ");
        return [r.name, formatRate(r.drain.jobs / r.drain.seconds), `${r.drain.seconds.toFixed(2)} s`, (r.drain.commits / r.drain.jobs).toFixed(2), ms(s.p50), ms(s.p99), String(r.latencyMs.length), every];
      }),
      [1, 2, 3, 4, 5, 6],
    ),
  );
  console.log("");
  console.log(renderTable(["system", "CPU µs/job: main thread", "other threads", "PostgreSQL", "total"], rows.map((r) => cpuRow(r)), [1, 2, 3, 4]));
  console.log("");
  for (const r of rows) console.log(`${r.name}: ${r.config}`);
  console.log("");
  console.log(`jobs/s: the median of ${plan.rounds} drain${plan.rounds === 1 ? "" : "s"} per system, taken in turn; each drain's jobs over the time from starting`);
  console.log("the workers until the last completion is committed");
  console.log("(ours: the N-th completion's batched write returned; graphile-worker and the assembled peer: the last job row deleted).");
  console.log("commits/job: xact_commit of the scratch database (pg_stat_database) over the drain, divided by N;");
  console.log("it counts every commit of the worker (claims, completions, polls, timers), not the enqueues.");
  console.log("start: enqueue committed (host clock when the enqueue returned) to handler start (host clock; ours: the");
  console.log("run row's started_at, the moment the executor began the run, to the millisecond).");
  console.log("CPU µs/job: each part's median over the drains, from /proc (Linux; n/a elsewhere, and PostgreSQL n/a when it");
  console.log("runs on another machine): this process's main thread, its other threads (isolates, V8 helpers), PostgreSQL's");
  console.log("processes. Steadier than jobs/s on a shared machine: compare versions by it.");
  console.log("");

  const [ours, unbatched, batched, peer, peerWithHistory] = rows as [Row, Row, Row, Row, Row];
  const rate = (r: Row) => r.drain.jobs / r.drain.seconds;
  const throughput = rate(ours) / rate(batched);
  const vsPeerWithHistory = rate(ours) / rate(peerWithHistory);
  const oursP50 = stat(ours).p50;
  const peerP50 = Math.min(stat(unbatched).p50, stat(batched).p50);
  const latency = oursP50 / peerP50;
  const verdict = (ok: boolean) => (quick ? (ok ? "pass (quick)" : "miss (quick)") : ok ? "PASS" : "MISS");
  console.log("Targets:");
  console.log(
    renderTable(
      ["target", "ratio", "goal", "verdict"],
      [
        ["#17 throughput, ours / assembled peer + run history", ratio(vsPeerWithHistory), `≥ ${ratio(PEER_WITH_HISTORY_TARGET)}`, verdict(vsPeerWithHistory >= PEER_WITH_HISTORY_TARGET)],
        ["#17 throughput, ours / graphile-worker batched", ratio(throughput), `≥ ${ratio(BATCHED_TARGET_17)}`, verdict(throughput >= BATCHED_TARGET_17)],
        ["#5 throughput, ours / graphile-worker batched", ratio(throughput), `≥ ${ratio(THROUGHPUT_TARGET)}`, verdict(throughput >= THROUGHPUT_TARGET)],
        ["#5 start p50, ours / graphile-worker (lower of its two p50s)", ratio(latency), `≤ ${ratio(LATENCY_TARGET)}`, verdict(latency <= LATENCY_TARGET)],
      ],
      [1],
    ),
  );
  console.log(
    `notes: ours / graphile-worker unbatched throughput ${ratio(rate(ours) / rate(unbatched))}; ours / assembled peer (no run row) ${ratio(rate(ours) / rate(peer))}; start p50 vs unbatched ${ratio(oursP50 / stat(unbatched).p50)}, vs batched ${ratio(oursP50 / stat(batched).p50)}.`,
  );
  if (quick) console.log("A quick run is too short for its verdicts to mean anything.");
  console.log("");
  console.log(`done in ${elapsedS.toFixed(1)} s`);
}

main().catch((error: unknown) => {
  console.error("bench failed:", error);
  process.exitCode = 1;
});
