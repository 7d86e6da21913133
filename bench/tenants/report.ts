/**
 * The figures of bench:tenants and issue #18's verdicts, as tables or as one
 * JSON object.
 */
import { machineInfo } from "../support/machine.ts";
import { percentile, formatRate } from "../support/stats.ts";
import { renderTable } from "../support/table.ts";
import type { DrainResult } from "./drain.ts";
import type { FairnessPlan, FairnessResult } from "./fairness.ts";
import type { IsolateFloor } from "./isolate-floor.ts";
import { formatMiB } from "./proc.ts";

export interface Plan {
  quick: boolean;
  apps: number[];
  jobs: number;
  drainTimeoutMs: number;
  /** The serve defaults the process ran with (parseConfig of an empty environment). */
  concurrency: number;
  threads: number;
  fairness: FairnessPlan;
  scenarios: string[];
}

/** Issue #18's targets. */
const MANY_APPS = 1_000;
const MANY_APPS_RATIO = 0.5;
const RSS_LIMIT_BYTES = 2 ** 30;
const LIGHT_P99_MS = 50;
/** Two peer drains further apart than this share of their mean are flagged. */
const PEER_SPREAD_WARN = 0.25;

export interface Figures {
  plan: Plan;
  drains: DrainResult[];
  fair: { driver: string; result: FairnessResult }[];
  serverVersion: string;
  load: { before: number; after: number };
  /** Bare isolated-vm's cost of an app, measured after the drains (isolate-floor.ts); null without drains. */
  floor: IsolateFloor | null;
}

export function report({ plan, drains, fair, serverVersion, load, floor }: Figures, json: boolean): void {
  const rate = (d: DrainResult) => d.completed / d.seconds;
  const cpuUsPerRun = (d: DrainResult) => (d.cpuMs !== null && d.completed > 0 ? (d.cpuMs * 1000) / d.completed : null);
  // The peer drained first and again last; the ratios are against the mean of the two.
  const peers = drains.filter((d) => d.apps === drains[0]?.apps);
  const peerRate = peers.reduce((sum, d) => sum + rate(d), 0) / peers.length;
  const peerCpu = peers.map(cpuUsPerRun).filter((x): x is number => x !== null);
  const peerCpuUsPerRun = peerCpu.length > 0 ? peerCpu.reduce((a, b) => a + b, 0) / peerCpu.length : null;
  const extraCpuMsPerApp = (d: DrainResult) => {
    const own = cpuUsPerRun(d);
    return own === null || peerCpuUsPerRun === null || peers.includes(d) ? null : ((own - peerCpuUsPerRun) * d.completed) / d.apps / 1000;
  };
  const peerSpread = peers.length > 1 ? Math.abs(rate(peers[0] as DrainResult) - rate(peers[peers.length - 1] as DrainResult)) / peerRate : 0;
  const drainRows = drains.map((d) => ({
    apps: d.apps,
    runsPerSecond: rate(d),
    ratio: rate(d) / peerRate,
    load: d.load,
    completed: d.completed,
    timedOut: d.timedOut,
    isolatesCreated: d.isolatesCreated,
    metricsIsolatesCreated: d.metrics.created,
    metricsIsolates: d.metrics.all,
    rssAtStart: d.memoryAtStart?.rss ?? null,
    peakRss: d.memoryAtEnd?.peak ?? null,
    rssAtEnd: d.memoryAtEnd?.rss ?? null,
    cpuUsPerRun: cpuUsPerRun(d),
    // What the worker spent an app beyond the peer's cost of as many runs: an app's first isolate, mostly.
    extraCpuMsPerApp: extraCpuMsPerApp(d),
  }));
  const fairRows = fair.map(({ driver, result }) => {
    const sorted = (xs: number[] | null) => (xs && xs.length > 0 ? [...xs].sort((a, b) => a - b) : null);
    const fromSent = sorted(result.lightFromSentMs);
    const fromRunAt = sorted(result.lightFromRunAtMs);
    const fromAnswered = sorted(result.lightFromAnsweredMs);
    const pick = (xs: number[] | null) => (xs ? { p50: percentile(xs, 50), p99: percentile(xs, 99), max: xs[xs.length - 1] as number } : null);
    // The slot-time the heavy runs that finished in the window held, against all the worker's slots over it.
    const slotShare = (result.heavyFinished * plan.fairness.heavyRunMs) / (result.windowSeconds * 1000 * plan.concurrency);
    return {
      driver,
      lightSamples: result.lightFromSentMs.length,
      lightFromRunAt: pick(fromRunAt),
      lightFromSent: pick(fromSent),
      lightFromAnswered: pick(fromAnswered),
      // The judged figure: from run_at where the bench can read it, else from the invoke's sending, an upper
      // bound (each sample is at least its delay from run_at, so their p99 is at least that of the delays).
      judgedP99: (pick(fromRunAt) ?? pick(fromSent))?.p99 ?? NaN,
      judgedFrom: fromRunAt ? "run_at" : "invoke sent, an upper bound",
      // Where run_at is not read: the p99 from the invoke's answer, a lower bound.
      lowerP99: fromRunAt ? null : (pick(fromAnswered)?.p99 ?? null),
      heavyFinished: result.heavyFinished,
      heavyStarted: result.heavyStarted,
      heavySlotShare: slotShare,
      // Progress: on average at least one slot's worth of heavy runs finished.
      heavyFloor: Math.floor((result.windowSeconds * 1000) / plan.fairness.heavyRunMs),
      windowSeconds: result.windowSeconds,
    };
  });
  const many = drainRows.find((r) => r.apps === MANY_APPS) ?? null;
  const peaks = drainRows.map((r) => r.peakRss).filter((x): x is number => x !== null);
  const targets = [
    ...(drains.length > 0
      ? [
          {
            target: `#18: ${MANY_APPS.toLocaleString("en-US")} apps / 1 app, runs/s ≥ ${MANY_APPS_RATIO}×`,
            value: many ? `${many.ratio.toFixed(2)}×${many.timedOut ? " (drain cut at its time limit)" : ""}` : `n/a (no ${MANY_APPS}-app drain)`,
            pass: many ? many.ratio >= MANY_APPS_RATIO : null,
          },
          {
            target: `#18: worker peak RSS ≤ ${formatMiB(RSS_LIMIT_BYTES)} (every drain)`,
            value: peaks.length > 0 ? formatMiB(Math.max(...peaks)) : "n/a (no /proc)",
            pass: peaks.length > 0 ? Math.max(...peaks) <= RSS_LIMIT_BYTES : null,
          },
        ]
      : []),
    ...fairRows.flatMap((f) => [
      {
        target: `#18 on ${f.driver}: light start p99 ≤ ${LIGHT_P99_MS} ms (from ${f.judgedFrom})`,
        value: `${ms(f.judgedP99)}${f.lowerP99 !== null ? ` (at least ${ms(f.lowerP99)}, from the invoke's answer)` : ""}`,
        pass: f.judgedP99 <= LIGHT_P99_MS,
      },
      {
        target: `#18 on ${f.driver}: the heavy tenant progresses (≥ ${f.heavyFloor} runs finished in the window, one slot's worth)`,
        value: `${f.heavyFinished} runs, ${(f.heavySlotShare * 100).toFixed(0)}% of the slots`,
        pass: f.heavyFinished >= f.heavyFloor,
      },
    ]),
  ];
  const machine = machineInfo();
  if (json) {
    console.log(JSON.stringify({ machine, postgres: serverVersion, loadAverage: load, plan, drains: drainRows, peerSpread, isolateFloor: floor, fairness: fairRows, targets }));
    return;
  }
  console.log(`\n${machine.node} on ${machine.cpu} (${machine.cores} cores, ${machine.memoryGiB} GiB), PostgreSQL ${serverVersion}, the same machine`);
  console.log(
    `switchyard serve at its defaults (role all, ${plan.threads} executor thread(s), concurrency ${plan.concurrency}); load average (1 min) ${load.before.toFixed(2)} before, ${load.after.toFixed(2)} after`,
  );
  if (drains.length > 0) {
    console.log(`\nthe drain: ${plan.jobs.toLocaleString("en-US")} no-op events round-robin over N apps, one process, a fresh one per N`);
    console.log(
      renderTable(
        ["apps", "runs/s", `vs ${drains[0]?.apps ?? 1} app`, "load", "isolates made", "/metrics: cold starts", "RSS at start", "peak RSS", "RSS at end", "CPU µs/run"],
        drainRows.map((r) => [
          r.apps.toLocaleString("en-US"),
          `${formatRate(r.runsPerSecond)}${r.timedOut ? ` (${r.completed} in ${plan.drainTimeoutMs / 1000} s)` : ""}`,
          `${r.ratio.toFixed(2)}×`,
          r.load.toFixed(1),
          r.isolatesCreated.toLocaleString("en-US"),
          r.metricsIsolatesCreated === null ? "not exposed" : r.metricsIsolatesCreated.toLocaleString("en-US"),
          formatMiB(r.rssAtStart),
          formatMiB(r.peakRss),
          formatMiB(r.rssAtEnd),
          r.cpuUsPerRun === null ? "n/a" : formatRate(r.cpuUsPerRun),
        ]),
        [1, 2, 3, 4, 5, 6, 7, 8, 9],
      ),
    );
    if (peers.length > 1) {
      const note = peerSpread > PEER_SPREAD_WARN ? ": the machine's load moved during the drains, so the ratios are rough" : "";
      console.log(`the ${drains[0]?.apps}-app peer drained first and last, ${(peerSpread * 100).toFixed(0)}% apart; ratios are against their mean${note}`);
    }
    if (floor) {
      console.log(
        `the floor: bare isolated-vm, per app a 64 MB isolate, a context, a script and ${floor.callsPerApp} calls, then disposed: ` +
          `${floor.cpuMsPerApp.toFixed(2)} ms of CPU an app (${floor.apps} apps, in this process, after the drains)`,
      );
      for (const r of drainRows) {
        if (r.extraCpuMsPerApp === null) continue;
        console.log(`  ${r.apps.toLocaleString("en-US")} apps: the worker spent ${r.extraCpuMsPerApp.toFixed(2)} ms of CPU an app beyond the peer's cost of its runs, ${(r.extraCpuMsPerApp / floor.cpuMsPerApp).toFixed(2)}× the floor`);
      }
    }
    console.log(
      "load: the machine's 1-minute load average at the drain's end; isolates made: counted as constructed during the drain (count-isolates.cjs; the process's own warm-up isolates at start are left out); " +
        "/metrics: the growth of the process's own cold-start count over the drain (app isolates made for a run that found none warm; a spare isolate made ahead is constructed but not a cold start)",
    );
  }
  if (fair.length > 0) {
    const f = plan.fairness;
    console.log(
      `\nfairness: a heavy tenant keeps ${f.heavyOutstanding} runs of ${f.heavyRunMs / 1000} s (an awaited timer) enqueued or running, ` +
        `a light tenant invokes a no-op every ${f.lightEveryMs} ms; ${f.windowMs / 1000} s window`,
    );
    const cell = (x: { p50: number; p99: number; max: number } | null) => (x ? `${ms(x.p50)} / ${ms(x.p99)} / ${ms(x.max)}` : "n/a");
    console.log(
      renderTable(
        ["driver", "light runs", "light start from run_at p50 / p99 / max", "from invoke sent", "from invoke answered", "heavy runs finished (started)", "heavy share of slots"],
        fairRows.map((r) => [
          r.driver,
          String(r.lightSamples),
          cell(r.lightFromRunAt),
          cell(r.lightFromSent),
          cell(r.lightFromAnswered),
          `${r.heavyFinished} (${r.heavyStarted})`,
          `${(r.heavySlotShare * 100).toFixed(0)}%`,
        ]),
        [1, 5, 6],
      ),
    );
    console.log(
      "run_at is read from the outbox where another process may open the database (PostgreSQL); on PGlite it lies between the invoke's sending and its answer, " +
        "so those two columns bound the delay, and the verdict takes the higher",
    );
  }
  console.log("\ntargets:");
  for (const t of targets) {
    const verdict = t.pass === null ? "n/a" : t.pass ? "PASS" : "MISS";
    console.log(`  ${t.target}: ${t.value} ${plan.quick ? verdict.toLowerCase() : verdict}`);
  }
  if (plan.quick) console.log("  (--quick: too few events and too short a window for the verdicts to mean anything)");
}

const ms = (x: number) => (Number.isNaN(x) ? "n/a" : x < 10 ? `${x.toFixed(1)} ms` : `${Math.round(x).toLocaleString("en-US")} ms`);
