/**
 * bench/executor: the sandbox's cost per run, side by side with peers, in one
 * run: a warm run of a trivial script against a bare function call and
 * node:vm, a fresh-context run, an app's cold first run (each also with a
 * script that uses the web runtime: URL, crypto, TextEncoder), and
 * `secrets.get` from inside a script against a bare AES-256-GCM open.
 *
 * @example
 * pnpm --filter @switchyard/bench bench:executor           # full run, ~30 s
 * pnpm --filter @switchyard/bench bench:executor --quick   # smoke run, a few seconds
 */
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { createExecutor, type CompiledScript, type Executor } from "@switchyard/executor";
import { machineInfo } from "../support/machine.ts";
import { asyncCase, interleave, syncCase, type Case, type InterleaveOptions } from "../support/measure.ts";
import type { Summary } from "../support/stats.ts";
import { renderSummaryTable } from "../support/table.ts";
import { bareHandler, EXPECTED_RESULT, GETS_PER_RUN, openFixture, WEB_RESULT, type ExecutorFixture } from "./fixture.ts";
import { CASES, checkTargets, printTargets } from "./targets.ts";

const USAGE = `usage: bench:executor [--quick] [--json]
  --quick   a smoke run with few samples (seconds; figures are rough)
  --json    print the results as one JSON object instead of tables
  node needs --no-node-snapshot (isolated-vm on Node 20); the package script passes it.`;

interface Plan {
  warm: InterleaveOptions;
  fresh: InterleaveOptions;
  cold: InterleaveOptions;
  secrets: InterleaveOptions;
}

// Full: ~30 s on a 2-core VM, most of it the fresh-context and cold rounds.
const FULL: Plan = {
  warm: { warmupRounds: 1_000, rounds: 5_000 },
  fresh: { warmupRounds: 100, rounds: 1_000 },
  cold: { warmupRounds: 20, rounds: 300 },
  secrets: { warmupRounds: 50, rounds: 500 },
};
const QUICK: Plan = {
  warm: { warmupRounds: 100, rounds: 300 },
  fresh: { warmupRounds: 10, rounds: 60 },
  cold: { warmupRounds: 3, rounds: 20 },
  secrets: { warmupRounds: 5, rounds: 30 },
};

// Warm calls are timed 10 at a time: one hrtime read is tens of ns, small
// next to a ~50 µs run but not next to the bare call.
const BATCH = 10;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: "boolean", default: false }, json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!process.execArgv.includes("--no-node-snapshot") && !process.env.NODE_OPTIONS?.includes("--no-node-snapshot")) {
    console.warn("bench: node runs without --no-node-snapshot; isolated-vm may crash on Node 20 (use the package script)");
  }
  const plan = values.quick ? QUICK : FULL;
  const started = performance.now();
  const fixture = await openFixture();
  // As the server runs it: one executor thread per core.
  const executor = createExecutor({ host: fixture.host, threads: availableParallelism() });
  let results: Map<string, Summary>;
  try {
    await checkPaths(fixture, executor);
    results = await measure(fixture, executor, plan);
  } finally {
    await executor.dispose();
  }
  const targets = checkTargets(results);
  const elapsedS = (performance.now() - started) / 1000;

  if (values.json) {
    const report = { bench: "executor", mode: values.quick ? "quick" : "full", machine: machineInfo(), unit: "ns per op", cases: Object.fromEntries(results), targets };
    console.log(JSON.stringify({ ...report, elapsed_s: Number(elapsedS.toFixed(1)) }, null, 2));
    return;
  }
  const machine = machineInfo();
  console.log(`bench/executor — ${values.quick ? "QUICK smoke run (few samples, figures are rough)" : "full run"}`);
  console.log(`node ${machine.node} · ${machine.platform} · ${machine.cpu} · ${machine.cores} cores · ${machine.memoryGiB} GiB`);
  console.log(`script: ${JSON.stringify("export default (event, ctx) => ({ ok, kind, attempt })")}, compiled by compileScript`);
  console.log("");
  console.log(renderSummaryTable(results));
  console.log("");
  console.log("Each group's cases alternate round by round; warm-up rounds are discarded. A run is");
  console.log("executor.run() end to end: JSON in, the isolate hop, the handler, JSON out, redaction, outcome.");
  console.log(`The secrets row is one script run doing ${GETS_PER_RUN} awaited secrets.get of one name, divided by ${GETS_PER_RUN}, as`);
  console.log("production runs it: the run's first read crosses to the main thread, whose host opens the sealed");
  console.log("value like the bare row; the rest are answered by the executor thread from that answer. The");
  console.log(`first-reads row reads ${GETS_PER_RUN} different names: every read crosses and the host opens each. The`);
  console.log("secrets.list row is the same loop against a host that answers at once: the round trip alone.");
  console.log("");
  printTargets(targets);
  console.log("");
  console.log(`done in ${elapsedS.toFixed(1)} s`);
}

// Every path must return what it should, or the figures mean nothing.
async function checkPaths(f: ExecutorFixture, executor: Executor): Promise<void> {
  const expected = JSON.stringify(EXPECTED_RESULT);
  for (const script of [f.trivial, f.fresh]) {
    const out = await executor.run(f.request(script));
    if (out.status !== "ok" || JSON.stringify(out.result) !== expected) throw new Error(`bench: ${script.id} answered ${JSON.stringify(out)}`);
  }
  const web = await executor.run(f.request(f.webFresh));
  if (web.status !== "ok" || JSON.stringify(web.result) !== JSON.stringify(WEB_RESULT)) throw new Error(`bench: ${f.webFresh.id} answered ${JSON.stringify(web)}`);
  if ((await f.nodeVmWarm()) !== expected || (await f.nodeVmFresh()) !== expected) throw new Error("bench: node:vm answered something else");
  if (f.bareOpen() !== f.secretValue) throw new Error("bench: the bare open did not return the value");
  for (const [script, name] of [
    [f.secretsLoop, "API_KEY"],
    [f.firstReadsLoop, "API_KEY_0"],
  ] as const) {
    const out = await executor.run(f.request(script));
    const read = out.result as { first?: unknown; same?: number } | null;
    // The value itself comes back masked, as any secret in a result does.
    if (out.status !== "ok" || read?.first !== `[secret:${name}]` || read.same !== GETS_PER_RUN || out.secretsRead[0] !== name) {
      throw new Error(`bench: ${script.id} did not read ${GETS_PER_RUN} times: ${JSON.stringify(out.error)}`);
    }
  }
}

/**
 * Runs handed to the executor together, as the dispatcher starts them when
 * several slots free at once: TOGETHER runs of one app in one event-loop
 * turn, awaited together; a sample is their time over TOGETHER.
 */
const TOGETHER = 8;
function together(name: string, run: () => Promise<unknown>): Case {
  return {
    name,
    batchSize: BATCH * TOGETHER,
    async sample() {
      const start = process.hrtime.bigint();
      for (let i = 0; i < BATCH; i++) await Promise.all(Array.from({ length: TOGETHER }, run));
      return Number(process.hrtime.bigint() - start) / (BATCH * TOGETHER);
    },
  };
}

async function measure(f: ExecutorFixture, executor: Executor, plan: Plan): Promise<Map<string, Summary>> {
  const ctx = { run: { attempt: 1 } };
  const event = { kind: "manual" };
  const warm = await interleave(
    [
      asyncCase(CASES.bare, BATCH, async () => bareHandler(event, ctx)),
      asyncCase(CASES.nodeVm, BATCH, () => f.nodeVmWarm()),
      asyncCase(CASES.warm, BATCH, () => executor.run(f.request(f.trivial))),
      together(CASES.warmTogether, () => executor.run(f.request(f.trivial))),
    ],
    plan.warm,
  );
  const fresh = await interleave(
    [asyncCase(CASES.nodeVmFresh, 1, () => f.nodeVmFresh()), asyncCase(CASES.fresh, 1, () => executor.run(f.request(f.fresh)))],
    plan.fresh,
  );
  // The price of the runtime's use in a fresh context (loading it, and
  // whatwg-url). An app of its own and a group of its own, so its garbage
  // does not land in the fresh row's isolate.
  const webFresh = await interleave([asyncCase(CASES.webFresh, 1, () => executor.run(f.request(f.webFresh, "app_bench_web")))], plan.fresh);

  // Cold: a new app each time, in an executor whose threads are warm (the
  // runtime's code caches are made once per thread, like the loader's).
  // Its isolates go after 20 ms idle, during the untimed pause before each
  // sample, so neither the pool's bound nor a sweep lands in a timed run.
  const coldExecutor = createExecutor({ host: f.host, threads: availableParallelism(), idleMs: 20 });
  for (let i = 0; i < 8; i++) await coldExecutor.run(f.request(f.webFresh, `app_cold_warmup_${i}`));
  let apps = 0;
  const coldCase = (name: string, script: CompiledScript): Case =>
    asyncCase(
      name,
      1,
      () => coldExecutor.run(f.request(script, `app_cold_${apps}`)),
      async () => {
        apps++;
        await new Promise((resolve) => setTimeout(resolve, 30));
      },
    );
  const cold = await interleave([coldCase(CASES.cold, f.trivial), coldCase(CASES.webCold, f.webFresh)], plan.cold);
  await coldExecutor.dispose();

  // One script run of GETS_PER_RUN calls, timed whole and divided.
  const loopCase = (name: string, script: typeof f.secretsLoop): Case => ({
    name,
    batchSize: GETS_PER_RUN,
    async sample() {
      const start = process.hrtime.bigint();
      const out = await executor.run(f.request(script));
      const ns = Number(process.hrtime.bigint() - start) / GETS_PER_RUN;
      if (out.status !== "ok") throw new Error(`bench: ${script.id} failed: ${JSON.stringify(out.error)}`);
      return ns;
    },
  });
  const secrets = await interleave(
    [
      syncCase(CASES.bareOpen, 100, f.bareOpen),
      loopCase(CASES.secretsGet, f.secretsLoop),
      loopCase(CASES.firstReads, f.firstReadsLoop),
      loopCase(CASES.crossing, f.crossingLoop),
    ],
    plan.secrets,
  );
  return new Map([...warm, ...fresh, ...webFresh, ...cold, ...secrets]);
}

main().catch((error: unknown) => {
  console.error("bench/executor failed:", error);
  process.exitCode = 1;
});
