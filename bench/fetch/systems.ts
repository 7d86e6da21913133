/**
 * The systems bench/fetch compares, each a way to GET the bench server's
 * URL and read the body whole: bare Node fetch (the peer), and the host's
 * fetch client under the egress policy. The script-side fetch (an isolate's
 * `fetch` through the executor's Host) is one more entry here when the
 * runtime lands.
 */
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
