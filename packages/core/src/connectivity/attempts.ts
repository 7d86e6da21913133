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
 * Outcomes that say nothing of the destination's health, so they are not
 * counted at all: the script aborted the fetch, or it was refused on this
 * side before anything was sent (the egress policy, the run's subrequest
 * limit, a host-bound secret headed elsewhere, the process's body budget).
 */
const NOT_SENT = new Set(["aborted", "egress_denied", "egress_limit", "secret_host_mismatch", "egress_busy"]);

/** Failures that still mean the destination answered (a redirect it may not follow, a body over the cap): successes for its health. */
const ANSWERED = new Set(["redirect_error", "egress_redirect_limit", "egress_too_large"]);

/** Whether a fetch tells anything of its destination's health (see NOT_SENT). */
export function countsForHealth(fetch: FetchOutcome): boolean {
  return !NOT_SENT.has(fetch.outcome);
}

/**
 * Why a fetch counts as failed, or null when it succeeded: no answer
 * (`connect_failed`, `dns_failed`, `tls_failed`, `egress_timeout`), or an
 * answer that says the API cannot serve: 5xx, and 429 (rate limited); other
 * 4xx are the caller's mistake, answered by a working API.
 */
export function failureCode(fetch: FetchOutcome): string | null {
  if (ANSWERED.has(fetch.outcome)) return null;
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
