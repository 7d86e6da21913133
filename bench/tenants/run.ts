/**
 * bench/tenants: issue #18, "many tenants on one worker". One real
 * `switchyard serve` process with its default settings (only the database
 * differs) is measured from outside:
 *
 * - the drain: a backlog of no-op events spread round-robin over N apps, each
 *   with its own script, for N = 1, 64, 256, 1,000. The peer is the one-app
 *   drain of the same run: runs/s against it, the isolates the process made,
 *   and its resident memory (/proc, the worker's alone);
 * - fairness, on PostgreSQL and on the embedded PGlite: a heavy tenant keeps
 *   more long runs queued than the worker has slots while a light tenant
 *   invokes a trivial script every 100 ms; the light runs' start delay and
 *   the heavy tenant's progress.
 *
 * @example
 * pnpm --filter @switchyard/bench bench:tenants            # 20,000 events a drain; fairness 30 s a driver; about 5 minutes
 * pnpm --filter @switchyard/bench bench:tenants --quick    # smoke run: 2,000 events, N = 1 and 64; 3 s windows
 * pnpm --filter @switchyard/bench --silent bench:tenants --json
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseConfig } from "@switchyard/server";
import { parseBenchOptions } from "../support/options.ts";
import { createScratchDatabase, type ScratchDatabase } from "../support/scratch-postgres.ts";
import { drain, prepareApps, type DrainResult } from "./drain.ts";
import { fairness, type FairnessPlan, type FairnessResult } from "./fairness.ts";
import { measureIsolateFloor, type IsolateFloor } from "./isolate-floor.ts";
import { report, type Plan } from "./report.ts";
import { startServe, stopAllServe, type ServeProcess } from "./serve.ts";

const DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";
/** Set by Ctrl-C: the steps it cut short fail, and their errors are not news. */
let interrupted = false;

const USAGE = `usage: bench:tenants [--quick] [--apps 1,64,256,1000] [--jobs N] [--window-s N] [--heavy-run-ms N] [--only drain|fairness] [--url URL] [--json]
  --quick         smoke run: 2,000 events a drain, N = 1 and 64, fairness windows of 3 s with 0.5 s heavy runs
  --apps          app counts to drain, the first is the peer (default 1,64,256,1000)
  --jobs          events per drain (default 20,000); a drain is cut after 75 s (--quick: 30 s), its rate
                  then taken over the runs it finished (marked in the table)
  --window-s      fairness window per driver, seconds (default 30)
  --heavy-run-ms  how long each heavy run waits on a timer (default 2,000)
  --only          run one of the two scenarios
  --url           PostgreSQL to create the scratch databases on (default ${DEFAULT_ADMIN_URL})
  --json          one JSON object on stdout
  node needs --no-node-snapshot (isolated-vm on Node 20); the package script passes it.`;

async function main(): Promise<void> {
  const options = parseBenchOptions(
    () =>
      parseArgs({
        options: {
          quick: { type: "boolean" },
          apps: { type: "string" },
          jobs: { type: "string" },
          "window-s": { type: "string" },
          "heavy-run-ms": { type: "string" },
          only: { type: "string" },
          url: { type: "string" },
          json: { type: "boolean" },
          help: { type: "boolean", short: "h" },
        },
        strict: true,
      }).values,
    USAGE,
  );
  if (!options) return;
  if (options.only !== undefined && options.only !== "drain" && options.only !== "fairness") {
    console.error(`--only must be drain or fairness, not ${JSON.stringify(options.only)}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const quick = options.quick === true;
  // What `switchyard serve` runs with when nothing is set: the process under test gets no other variable.
  const defaults = parseConfig({});
  const heavyRunMs = positive(options["heavy-run-ms"], quick ? 500 : 2_000, "--heavy-run-ms");
  const plan: Plan = {
    quick,
    apps: (options.apps ?? (quick ? "1,64" : "1,64,256,1000")).split(",").map((s) => positive(s.trim(), 0, "--apps")),
    jobs: positive(options.jobs, quick ? 2_000 : 20_000, "--jobs"),
    // A drain past this is cut and its rate taken over what it ran, so a slow N cannot stretch the bench past its budget.
    drainTimeoutMs: quick ? 30_000 : 75_000,
    concurrency: defaults.workerConcurrency,
    threads: defaults.executorThreads,
    fairness: {
      windowMs: positive(options["window-s"], quick ? 3 : 30, "--window-s") * 1000,
      heavyRunMs,
      // Every slot of the worker, and as many again waiting behind them.
      heavyOutstanding: 2 * defaults.workerConcurrency,
      lightEveryMs: 100,
    },
    scenarios: options.only === undefined ? ["drain", "fairness"] : [options.only],
  };
  const adminUrl = options.url ?? DEFAULT_ADMIN_URL;
  const say = options.json ? (_: string) => {} : (line: string) => console.log(line);
  if (!process.execArgv.includes("--no-node-snapshot") && !process.env.NODE_OPTIONS?.includes("--no-node-snapshot")) {
    console.warn("bench: node runs without --no-node-snapshot; isolated-vm may crash on Node 20 (use the package script)");
  }

  const scratches: ScratchDatabase[] = [];
  const dataDirs: string[] = [];
  const cleanUp = async () => {
    await stopAllServe().catch(() => {});
    for (const dir of dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    await Promise.all(scratches.splice(0).map((s) => s.drop()));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    console.error(`\nbench: ${signal}, stopping the server, dropping the scratch databases, removing the data folder`);
    void cleanUp().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const loadBefore = loadavg()[0] as number;
  const masterKey = randomBytes(32).toString("base64");
  const drains: DrainResult[] = [];
  const fair: { driver: string; result: FairnessResult }[] = [];
  let serverVersion = "unknown";
  let floor: IsolateFloor | null = null;
  try {
    if (plan.scenarios.includes("drain")) {
      const scratch = await createScratchDatabase(adminUrl, "sy_bench_tenants");
      scratches.push(scratch);
      serverVersion = scratch.serverVersion;
      const started = Date.now();
      await prepareApps(scratch.url, masterKey, Math.max(...plan.apps));
      say(`made ${Math.max(...plan.apps)} apps, each with its own script, in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      // The peer drains again last: the counts run one after another, and two peer drains far apart say the machine's load moved meanwhile.
      const order = plan.apps.length > 1 ? [...plan.apps, plan.apps[0] as number] : plan.apps;
      for (const apps of order) {
        const result = await drain(scratch.url, masterKey, { apps, jobs: plan.jobs, timeoutMs: plan.drainTimeoutMs });
        drains.push(result);
        say(
          `drain over ${apps} app(s): ${result.completed} runs in ${result.seconds.toFixed(2)} s${result.timedOut ? " (TIME LIMIT)" : ""}, ` +
            `${result.isolatesCreated} isolates made, peak RSS ${Math.round((result.memoryAtEnd?.peak ?? NaN) / 2 ** 20)} MiB`,
        );
      }
      // An app's share of the drain's events, with as many apps as the widest drain (or 300 at most: it is a rate).
      const most = Math.max(...plan.apps);
      floor = measureIsolateFloor(Math.min(300, most), Math.max(1, Math.round(plan.jobs / most)));
      say(`the bare isolated-vm floor: ${floor.cpuMsPerApp.toFixed(2)} ms of CPU an app`);
    }
    if (plan.scenarios.includes("fairness")) {
      const scratch = await createScratchDatabase(adminUrl, "sy_bench_tenants_fair");
      scratches.push(scratch);
      serverVersion = scratch.serverVersion;
      fair.push({ driver: "PostgreSQL", result: await fairnessOn({ databaseUrl: scratch.url }, masterKey, plan.fairness, scratch.url) });
      say(`fairness on PostgreSQL done`);
      const dataDir = mkdtempSync(join(tmpdir(), "sy-bench-tenants-"));
      dataDirs.push(dataDir);
      fair.push({ driver: "PGlite", result: await fairnessOn({ dataDir }, masterKey, plan.fairness, null) });
      say(`fairness on PGlite done`);
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await cleanUp();
  }
  report({ plan, drains, fair, serverVersion, load: { before: loadBefore, after: loadavg()[0] as number }, floor }, options.json === true);
}

async function fairnessOn(storage: { databaseUrl: string } | { dataDir: string }, masterKey: string, plan: FairnessPlan, databaseUrl: string | null): Promise<FairnessResult> {
  const server: ServeProcess = await startServe(storage, masterKey, true);
  try {
    return await fairness(server, plan, databaseUrl);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nserver output:\n${server.tail()}`, { cause: error });
  } finally {
    const code = await server.stop();
    if (code !== 0 && code !== null) console.error(`bench: switchyard serve exited ${code} at stop:\n${server.tail()}`);
  }
}

function positive(text: string | undefined, fallback: number, flag: string): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a whole number of at least 1, not ${JSON.stringify(text)}`);
  return n;
}

main().catch((error: unknown) => {
  if (interrupted) return;
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
