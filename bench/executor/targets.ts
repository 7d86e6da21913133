/**
 * The executor's performance targets, checked against one bench run's figures.
 */
import { formatNs, type Summary } from "../support/stats.ts";
import { renderTable } from "../support/table.ts";
import { GETS_PER_RUN } from "./fixture.ts";

/** The bench's case names, as printed. */
export const CASES = {
  bare: "bare function call",
  nodeVm: "node:vm, warm context",
  warm: "executor, warm context",
  warmTogether: "executor, warm, 8 runs of one app at once (/8)",
  nodeVmFresh: "node:vm, new context",
  fresh: "executor, fresh context",
  webFresh: "executor, fresh context, using URL/crypto",
  cold: "executor, cold first run of an app",
  webCold: "executor, cold first run, using URL/crypto",
  bareOpen: "bare open (AES-256-GCM + JSON.parse)",
  secretsGet: `secrets.get in a script (run of ${GETS_PER_RUN} / ${GETS_PER_RUN})`,
  firstReads: `secrets.get, ${GETS_PER_RUN} names, each a first read (/${GETS_PER_RUN})`,
  crossing: `secrets.list, host answers at once (/${GETS_PER_RUN})`,
} as const;

const WARM_OVERHEAD_P50_NS = 100_000;
const FRESH_P50_NS = 1_000_000;
const COLD_P50_NS = 10_000_000;
const SECRETS_RATIO = 5;

export interface TargetCheck {
  what: string;
  measured: string;
  target: string;
  verdict: "PASS" | "MISS";
  note: string;
}

export function checkTargets(results: Map<string, Summary>): TargetCheck[] {
  const get = (name: string) => {
    const summary = results.get(name);
    if (!summary) throw new Error(`bench: no results for ${name}`);
    return summary;
  };
  const bare = get(CASES.bare);
  const nodeVm = get(CASES.nodeVm);
  const warm = get(CASES.warm);
  const fresh = get(CASES.fresh);
  const nodeVmFresh = get(CASES.nodeVmFresh);
  const cold = get(CASES.cold);
  const webFresh = get(CASES.webFresh);
  const webCold = get(CASES.webCold);
  const bareOpen = get(CASES.bareOpen);
  const secretsGet = get(CASES.secretsGet);
  const crossing = get(CASES.crossing);
  const firstReads = get(CASES.firstReads);

  const overhead = warm.p50 - bare.p50;
  const ratio = secretsGet.p50 / bareOpen.p50;
  const verdict = (ok: boolean): TargetCheck["verdict"] => (ok ? "PASS" : "MISS");
  return [
    {
      what: "warm run overhead p50 (executor − bare call)",
      measured: formatNs(overhead),
      target: `< ${formatNs(WARM_OVERHEAD_P50_NS)}`,
      verdict: verdict(overhead < WARM_OVERHEAD_P50_NS),
      note: `${(warm.p50 / nodeVm.p50).toFixed(1)}× node:vm warm; p99 ${formatNs(warm.p99)}`,
    },
    {
      what: "fresh-context run p50",
      measured: formatNs(fresh.p50),
      target: `< ${formatNs(FRESH_P50_NS)}`,
      verdict: verdict(fresh.p50 < FRESH_P50_NS),
      note: `${(fresh.p50 / nodeVmFresh.p50).toFixed(2)}× node:vm new context (${formatNs(nodeVmFresh.p50)})`,
    },
    {
      what: "fresh-context run using URL/crypto p50",
      measured: formatNs(webFresh.p50),
      target: `< ${formatNs(FRESH_P50_NS)}`,
      verdict: verdict(webFresh.p50 < FRESH_P50_NS),
      note: `${(webFresh.p50 / nodeVmFresh.p50).toFixed(2)}× node:vm new context; p99 ${formatNs(webFresh.p99)}`,
    },
    {
      what: "cold first run of an app p50",
      measured: formatNs(cold.p50),
      target: `< ${formatNs(COLD_P50_NS)}`,
      verdict: verdict(cold.p50 < COLD_P50_NS),
      note: `p99 ${formatNs(cold.p99)}`,
    },
    {
      what: "cold first run using URL/crypto p50",
      measured: formatNs(webCold.p50),
      target: `< ${formatNs(COLD_P50_NS)}`,
      verdict: verdict(webCold.p50 < COLD_P50_NS),
      note: `p99 ${formatNs(webCold.p99)}`,
    },
    {
      what: "secrets.get in a script / bare open, p50",
      measured: `${ratio.toFixed(2)}×`,
      target: `≤ ${SECRETS_RATIO}×`,
      verdict: verdict(ratio <= SECRETS_RATIO),
      note: `${formatNs(secretsGet.p50)} vs ${formatNs(bareOpen.p50)}; a run's first read of a name ${formatNs(firstReads.p50)}; a bare crossing ${formatNs(crossing.p50)}`,
    },
  ];
}

export function printTargets(targets: TargetCheck[]): void {
  console.log(
    renderTable(
      ["target", "measured", "target", "verdict", "note"],
      targets.map((t) => [t.what, t.measured, t.target, t.verdict, t.note]),
      [1],
    ),
  );
}
