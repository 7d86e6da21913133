/**
 * The systems bench/fetch compares, each a way to GET the bench server's
 * URL and read the body whole: bare Node fetch (the peer), and the host's
 * fetch client under the egress policy, and a script's `fetch`: one run per
 * GET, through the executor's Host into that client (the whole path a
 * script pays: the run's entry, the runtime's Request/Response, the
 * isolate→host hop, the policy-checked request, the body copied back in).
 */
import { compileScript, createExecutor, type Host } from "@switchyard/executor";
// bench's package.json does not list @switchyard/egress yet; the source is imported by path.
import { createEgressPolicy, createFetchClient } from "../../packages/egress/src/index.ts";

export interface FetchSystem {
  name: string;
  /** The peer every other system's ratio is taken against. */
  peer: boolean;
  /** Whether the target applies (false: printed for scale). */
  judged: boolean;
  /** One GET, body read whole; answers the body's length. */
  get(url: string): Promise<number>;
  /** `n` GETs, `inFlight` at a time, made by the system itself; answers the bytes read. Systems without it are driven by `get`. */
  many?(url: string, n: number, inFlight: number): Promise<number>;
  close(): Promise<void>;
}

/** Node's own fetch (its bundled undici), with its global keep-alive dispatcher. */
export function bareNodeFetch(): FetchSystem {
  return {
    name: "bare Node fetch (peer)",
    peer: true,
    judged: false,
    async get(url) {
      const response = await fetch(url);
      return (await response.arrayBuffer()).byteLength;
    },
    close: async () => {},
  };
}

const SCRIPT_SOURCE = `export default async function (event) {
  const { url, n, inFlight } = event.payload;
  if (n === undefined) return (await (await fetch(url)).arrayBuffer()).byteLength;
  let next = 0;
  let bytes = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next++ < n) {
      const body = await (await fetch(url)).arrayBuffer();
      bytes += body.byteLength;
    }
  }));
  return bytes;
}`;

/**
 * A script's fetch. `perRun` false: one run makes all the GETs, `inFlight`
 * at a time, as bare Node fetch is driven (the target). True: each GET is a
 * warm run of its own (a run's start and end on top of the fetch).
 */
export async function scriptFetch(port: number, perRun: boolean): Promise<FetchSystem> {
  const client = createFetchClient({ policy: createEgressPolicy({ allow: [`127.0.0.1:${port}`] }) });
  const host: Host = {
    getSecret: async () => null,
    listSecrets: async () => [],
    sendEmail: async () => {
      throw new Error("bench: no email");
    },
    fetch: (_ctx, request, signal) => client.fetch(request, { signal }),
  };
  // Enough subrequests for a whole round in one run.
  const executor = createExecutor({ host, maxSubrequests: 1_000_000 });
  const compiled = await compileScript({ source: SCRIPT_SOURCE, language: "js" });
  if (!compiled.ok) throw new Error(`bench: the fetch script did not compile: ${compiled.error.message}`);
  const script = { id: "script_fetch", appId: "app_bench", version: 1, code: compiled.value.code, sourceMap: compiled.value.sourceMap, freshContext: false, limits: { memoryMb: 64, cpuMs: 60_000, wallMs: 120_000 } };
  let runs = 0;
  const run = async (payload: Record<string, unknown>) => {
    runs++;
    const outcome = await executor.run({
      script,
      event: { kind: "manual", payload },
      ctx: { app: { id: "app_bench", name: "bench" }, trigger: null, run: { id: `run_${runs}`, attempt: 1, event_id: `evt_${runs}` } },
    });
    if (outcome.status !== "ok") throw new Error(`bench: the fetch script ended ${outcome.status}: ${JSON.stringify(outcome.error)}`);
    return outcome.result as number;
  };
  return {
    name: perRun ? "script fetch, one run per GET (ours)" : "script fetch, GETs of one run (ours)",
    peer: false,
    // A run's start and end are the executor's cost (bench:executor), not fetch's.
    judged: !perRun,
    get: (url) => run({ url }),
    ...(perRun ? {} : { many: (url: string, n: number, inFlight: number) => run({ url, n, inFlight }) }),
    close: async () => {
      await executor.dispose();
      await client.close();
    },
  };
}

/** The host's fetch client, with the bench server opened the way an operator would (SWITCHYARD_EGRESS_ALLOW=127.0.0.1:PORT). */
export function hostFetchClient(port: number): FetchSystem {
  const client = createFetchClient({ policy: createEgressPolicy({ allow: [`127.0.0.1:${port}`] }) });
  return {
    name: "host fetch client, egress policy (ours)",
    peer: false,
    judged: true,
    async get(url) {
      const response = await client.fetch({ method: "GET", url, headers: [], body: null, redirect: "follow" });
      return response.body.byteLength;
    },
    close: () => client.close(),
  };
}
