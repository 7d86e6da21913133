// Test support (not exported from the package): a DNS resolver the tests script.
import type { LookupAddress } from "node:dns";
import type { EgressResolver } from "./policy.ts";

/**
 * A resolver answering from a table, one answer per lookup in turn (the last
 * repeats), so a test can make a name turn internal on its next lookup. It
 * never asks real DNS; `calls` lists the names it was asked for.
 */
export function scripted(table: Record<string, string[][]>): EgressResolver & { calls: string[] } {
  const calls: string[] = [];
  const resolver = async (hostname: string): Promise<LookupAddress[]> => {
    calls.push(hostname);
    const answers = table[hostname];
    if (!answers) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    const seen = calls.filter((c) => c === hostname).length;
    const answer = answers[Math.min(seen, answers.length) - 1] ?? [];
    return answer.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
  return Object.assign(resolver, { calls });
}
