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
  /** One GET, body read whole; answers the body's length. */
  get(url: string): Promise<number>;
  close(): Promise<void>;
}

/** Node's own fetch (its bundled undici), with its global keep-alive dispatcher. */
export function bareNodeFetch(): FetchSystem {
  return {
    name: "bare Node fetch (peer)",
    peer: true,
    async get(url) {
      const response = await fetch(url);
      return (await response.arrayBuffer()).byteLength;
    },
    close: async () => {},
  };
}

const SCRIPT_SOURCE = `export default async function (event) {
  const response = await fetch(event.payload.url);
  return (await response.arrayBuffer()).byteLength;
}`;

/** A script's fetch: each GET is one warm run of a script that fetches the URL and answers the body's length. */
export async function scriptFetch(port: number): Promise<FetchSystem> {
  const client = createFetchClient({ policy: createEgressPolicy({ allow: [`127.0.0.1:${port}`] }) });
  const host: Host = {
    getSecret: async () => null,
    listSecrets: async () => [],
    sendEmail: async () => {
      throw new Error("bench: no email");
    },
    fetch: (_ctx, request, signal) => client.fetch(request, { signal }),
  };
  const executor = createExecutor({ host });
  const compiled = await compileScript({ source: SCRIPT_SOURCE, language: "js" });
  if (!compiled.ok) throw new Error(`bench: the fetch script did not compile: ${compiled.error.message}`);
  const script = { id: "script_fetch", appId: "app_bench", version: 1, code: compiled.value.code, sourceMap: compiled.value.sourceMap, freshContext: false, limits: { memoryMb: 64, cpuMs: 5_000, wallMs: 30_000 } };
  let runs = 0;
  return {
    name: "script fetch, one run per GET (ours)",
    peer: false,
    async get(url) {
      runs++;
      const outcome = await executor.run({
        script,
        event: { kind: "manual", payload: { url } },
        ctx: { app: { id: "app_bench", name: "bench" }, trigger: null, run: { id: `run_${runs}`, attempt: 1, event_id: `evt_${runs}` } },
      });
      if (outcome.status !== "ok") throw new Error(`bench: the fetch script ended ${outcome.status}: ${JSON.stringify(outcome.error)}`);
      return outcome.result as number;
    },
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
    async get(url) {
      const response = await client.fetch({ method: "GET", url, headers: [], body: null, redirect: "follow" });
      return response.body.byteLength;
    },
    close: () => client.close(),
  };
}
