/**
 * What a host-bound secret adds to a fetch on the host: a request whose
 * placeholder (in `Authorization` and in a 4 KiB JSON body) is replaced by
 * the value, and the answer (4 KiB) searched for echoes of it, against the
 * same request carrying the value itself, which goes through the same
 * check and finds nothing to do. Both go through `prepareFetch` and
 * `unmask` exactly as script-fetch.ts calls them; the network is left out
 * (it is the same for both). The audit row of a run's first use of a host
 * is written once per run and host, so it is left out too (the sink here
 * records nothing). Target (issue #16): at most 20 µs per request.
 */
import type { HostFetchRequest, HostFetchResponse, RunContext } from "@switchyard/executor";
import { createBoundSecrets } from "../../packages/server/src/bound/bound-secrets.ts";
import { asyncCase, interleave, type InterleaveOptions } from "../support/measure.ts";
import type { Summary } from "../support/stats.ts";

export const BOUND_TARGET_US = 20;
const VALUE = "sk_live_51HbenchBenchBenchBenchBenchBenchBench";
const BODY_BYTES = 4096;

const ctx: RunContext = { app: { id: "app_bench", name: "bench" }, trigger: null, run: { id: "run_bench", attempt: 1, event_id: "evt_bench" } };

/** A 4 KiB JSON body with `token` somewhere in the middle. */
function jsonBody(token: string): Uint8Array {
  const filler = "x".repeat(BODY_BYTES - 64 - token.length);
  return Buffer.from(JSON.stringify({ before: filler.slice(0, filler.length / 2), token, after: filler.slice(filler.length / 2) }));
}

function request(token: string): HostFetchRequest {
  return {
    method: "POST",
    url: "https://api.example.com/v1/charges",
    headers: [
      ["authorization", `Bearer ${token}`],
      ["content-type", "application/json"],
    ],
    body: jsonBody(token),
    redirect: "follow",
  };
}

const response: HostFetchResponse = { status: 200, statusText: "OK", headers: [["content-type", "application/json"]], url: "https://api.example.com/v1/charges", redirected: false, body: jsonBody("ch_123") };

export interface BoundFigures {
  bound: Summary;
  unbound: Summary;
  /** bound p50 − unbound p50, µs. */
  addedUs: number;
}

export async function measureBound(options: InterleaveOptions): Promise<BoundFigures> {
  const bound = createBoundSecrets(async () => {});
  const placeholder = bound.placeholder(ctx, { name: "STRIPE_KEY", value: VALUE, scope: "app", version: 1, boundHosts: ["api.example.com"] });
  const withPlaceholder = request(placeholder);
  const withValue = request(VALUE);
  const sizes = new Set<number>();
  const go = async (req: HostFetchRequest) => {
    const plan = await bound.prepareFetch(ctx, req);
    sizes.add(plan.request.body?.byteLength ?? 0);
    return plan.unmask(response).body.byteLength;
  };
  // Sanity: the bound request goes out with the value, as the unbound one does.
  const sent = await bound.prepareFetch(ctx, withPlaceholder);
  if (!Buffer.from(sent.request.body as Uint8Array).toString().includes(VALUE)) throw new Error("bench: the placeholder was not replaced");
  const results = await interleave([asyncCase("bound secret (placeholder replaced)", 100, () => go(withPlaceholder)), asyncCase("unbound (the value itself)", 100, () => go(withValue))], options);
  const b = results.get("bound secret (placeholder replaced)") as Summary;
  const u = results.get("unbound (the value itself)") as Summary;
  return { bound: b, unbound: u, addedUs: (b.p50 - u.p50) / 1000 };
}
