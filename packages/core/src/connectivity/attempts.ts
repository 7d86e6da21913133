/** A script's fetch as the run lists it (the executor's `Subrequest`, the fields the record needs). */
export interface FetchOutcome {
  /** `scheme://host/path`. */
  url: string;
  status: number | null;
  duration_ms: number;
  /** `"ok"`, or the code the fetch failed with; `aborted` when the script aborted it. */
  outcome: string;
}

/**
 * The destination a fetch is recorded under: the URL's host, with the port
 * when it is not the scheme's default (`api.example.com`,
 * `127.0.0.1:8080`, `[::1]:8443`). Null for a URL that does not parse.
 */
export function destinationHost(url: string): string | null {
  try {
    const host = new URL(url).host.toLowerCase();
    return host === "" ? null : host;
  } catch {
    return null;
  }
}

/**
 * Why a fetch counts as failed, or null when it succeeded. A fetch the
 * script aborted is neither (the caller skips it). An answer counts as a
 * failure when the API says it cannot serve: 5xx, and 429 (rate limited);
 * other 4xx are the caller's mistake, answered by a working API.
 */
export function failureCode(fetch: FetchOutcome): string | null {
  if (fetch.outcome !== "ok") return fetch.outcome;
  if (fetch.status !== null && (fetch.status >= 500 || fetch.status === 429)) return `http_${fetch.status}`;
  return null;
}

/**
 * Whether a trigger's `hosts` entry names a destination: the host exactly
 * (`api.example.com:8443`), its name on any port (`api.example.com`), or a
 * subdomain of `*.example.com`.
 */
export function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.trim().toLowerCase();
  if (p === host) return true;
  const name = hostnameOf(host);
  if (p === name) return true;
  return p.startsWith("*.") && name.endsWith(p.slice(1)) && name.length > p.length - 1;
}

function hostnameOf(host: string): string {
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return host;
  }
}
