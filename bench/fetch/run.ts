/**
 * bench/fetch: a script's fetch against bare Node fetch, in one run, to one
 * local node:http keep-alive server (on its own thread):
 *  1. throughput, N GETs with C in flight, rounds rotating which system goes
 *     first, the median round of each compared (target: every judged system
 *     at least 0.7× bare Node fetch; a script's fetch is judged with all N
 *     GETs made by one run, as the peer makes them; one run per GET is
 *     printed for scale);
 *  2. sequential latency, one awaited GET at a time, interleaved round by
 *     round (support/measure), for the p50/p99 table;
 *  3. what a host-bound secret adds on the host to a POST with a 4 KiB body
 *     (./bound.ts; target: at most 20 µs per request).
 * Systems are listed in ./systems.ts; each reads the whole body.
 *
 * @example
 * pnpm --filter @switchyard/bench bench:fetch           # full, about a minute
 * pnpm --filter @switchyard/bench bench:fetch --quick   # smoke run, seconds
 */
import { parseArgs } from "node:util";
import { machineInfo } from "../support/machine.ts";
import { asyncCase, interleave } from "../support/measure.ts";
import { parseBenchOptions } from "../support/options.ts";
import { percentile } from "../support/stats.ts";
import { renderSummaryTable, renderTable } from "../support/table.ts";
import { BOUND_TARGET_US, measureBound } from "./bound.ts";
import { startBenchServer } from "./server.ts";
import { bareNodeFetch, hostFetchClient, scriptFetch, type FetchSystem } from "./systems.ts";

const USAGE = `usage: bench:fetch [--quick] [--json]
  --quick   a smoke run with few samples (seconds; figures are rough)
  --json    print the results as one JSON object instead of tables`;
const TARGET = 0.7;

// Nine rounds, as bench/inbound: one round swings ±10% on a shared two-core machine.
const plan = (quick: boolean) =>
  quick
    ? { rounds: 2, requests: 300, inFlight: 8, sequential: { warmupRounds: 20, rounds: 100 }, bound: { warmupRounds: 20, rounds: 50 } }
    : { rounds: 9, requests: 3_000, inFlight: 8, sequential: { warmupRounds: 200, rounds: 1_000 }, bound: { warmupRounds: 100, rounds: 1_000 } };

const median = (values: readonly number[]) => percentile([...values].sort((a, b) => a - b), 50);

/** `n` GETs, `inFlight` at a time; answers requests per second. */
async function drive(system: FetchSystem, url: string, expectedBytes: number, n: number, inFlight: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  if (system.many) {
    const bytes = await system.many(url, n, inFlight);
    if (bytes !== expectedBytes * n) throw new Error(`bench: ${system.name} read ${bytes} bytes, not ${expectedBytes * n}`);
    return (n / (performance.now() - started)) * 1000;
  }
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < n) {
        const bytes = await system.get(url);
        if (bytes !== expectedBytes) throw new Error(`bench: ${system.name} read ${bytes} bytes, not ${expectedBytes}`);
      }
    }),
  );
  return (n / (performance.now() - started)) * 1000;
}

/** Every system once per round, rotating who goes first; two untimed rounds first (JIT, keep-alive pools). */
async function throughput(systems: readonly FetchSystem[], url: string, bytes: number, p: ReturnType<typeof plan>) {
  const perSystem = new Map<string, number[]>(systems.map((s) => [s.name, []]));
  for (let round = -2; round < p.rounds; round++) {
    for (let i = 0; i < systems.length; i++) {
      const system = systems[(round + 2 + i) % systems.length] as FetchSystem;
      const rate = await drive(system, url, bytes, p.requests, p.inFlight);
      if (round >= 0) perSystem.get(system.name)?.push(rate);
    }
  }
  return new Map([...perSystem].map(([name, rates]) => [name, { median: median(rates), rounds: rates }]));
}

async function main() {
  const options = parseBenchOptions(() => parseArgs({ options: { quick: { type: "boolean" }, json: { type: "boolean" }, help: { type: "boolean" } } }).values, USAGE);
  if (!options) return;
  const p = plan(options.quick ?? false);
  const server = await startBenchServer();
  const systems = [bareNodeFetch(), hostFetchClient(server.port), await scriptFetch(server.port, false), await scriptFetch(server.port, true)];
  try {
    const rates = await throughput(systems, server.url, server.bodyBytes, p);
    const latency = await interleave(
      systems.map((s) => asyncCase(s.name, 1, () => s.get(server.url))),
      p.sequential,
    );
    const peer = systems.find((s) => s.peer) as FetchSystem;
    const peerRate = rates.get(peer.name)?.median as number;
    const ratios = systems.filter((s) => !s.peer).map((s) => ({ system: s.name, judged: s.judged, ratio: (rates.get(s.name)?.median as number) / peerRate }));
    const bound = await measureBound(p.bound);

    if (options.json) {
      console.log(JSON.stringify({ bench: "fetch", machine: machineInfo(), plan: p, bodyBytes: server.bodyBytes, throughput: Object.fromEntries(rates), latency: Object.fromEntries(latency), ratios, target: TARGET, bound: { ...bound, targetUs: BOUND_TARGET_US } }, null, 2));
      return;
    }
    const m = machineInfo();
    console.log(`bench:fetch — ${m.cpu} ×${m.cores}, Node ${m.node}; GET of a ${server.bodyBytes}-byte JSON body from a node:http keep-alive server on its own thread`);
    console.log("");
    console.log(
      renderTable(
        ["system", `requests/s (median of ${p.rounds}, ${p.inFlight} in flight)`, "rounds"],
        [...rates].map(([name, r]) => [name, r.median.toFixed(0), r.rounds.map((v) => v.toFixed(0)).join(" ")]),
        [1],
      ),
    );
    console.log("");
    console.log("one GET at a time:");
    console.log(renderSummaryTable(latency));
    console.log("");
    for (const { system, ratio, judged } of ratios) {
      const verdict = judged ? `${ratio >= TARGET ? "PASS" : "MISS"} (target ≥ ${TARGET}×)` : "(for scale: a run's start and end on each GET, see bench:executor)";
      console.log(`${system} / bare Node fetch = ${ratio.toFixed(2)}× ${verdict}`);
    }
    console.log("");
    console.log("a host-bound secret on the host, POST with a 4 KiB JSON body (placeholder in Authorization and body), per request:");
    console.log(renderSummaryTable(new Map([["bound secret (placeholder replaced)", bound.bound], ["unbound (the value itself)", bound.unbound]])));
    console.log(`bound − unbound, p50 = ${bound.addedUs.toFixed(2)} µs ${bound.addedUs <= BOUND_TARGET_US ? "PASS" : "MISS"} (target ≤ ${BOUND_TARGET_US} µs)`);
  } finally {
    for (const system of systems) await system.close();
    await server.close();
  }
}

await main();
