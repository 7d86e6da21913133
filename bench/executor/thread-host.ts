/**
 * The bench's Host on each executor thread: `getSecret` opens the sealed
 * value with AES-256-GCM on the thread, exactly as the bare peer does (and as
 * a thread's secrets cache does on a hit); everything else goes to the
 * fixture's Host on the main thread.
 */
import { open, SecretKey } from "@switchyard/crypto";
import type { Host } from "@switchyard/executor";

/** What the fixture hands each thread. */
export interface BenchThreadHostData {
  keyBytes: Uint8Array;
  sealed: Uint8Array;
  aad: string;
}

export function createThreadHost({ main, data }: { main: Host; data: BenchThreadHostData }): Host {
  const key = SecretKey.fromBytes("bench", data.keyBytes);
  const sealed = Buffer.from(data.sealed);
  return {
    ...main,
    async getSecret(_ctx, name) {
      if (name !== "API_KEY") return null;
      return JSON.parse(open(key, sealed, data.aad).toString("utf8")) as unknown;
    },
  };
}
