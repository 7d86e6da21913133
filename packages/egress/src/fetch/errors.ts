/**
 * Why a script's fetch failed, as one stable `code` (API.md's fetch codes),
 * and a message built only from what the script itself supplied (the origin
 * of the URL it asked for, the limits it runs under): never a resolved
 * address, a remote server's words or a library's text. What went wrong in
 * detail stays on `cause`, for the operator's log.
 *
 * @example
 * try { await client.fetch(request, { signal }); }
 * catch (error) { if (error instanceof FetchError && error.code === "egress_denied") ... }
 */
import { EgressError } from "../errors.ts";

export type FetchErrorCode =
  | "egress_denied"
  | "egress_limit"
  | "egress_timeout"
  | "egress_too_large"
  /** The request's redirect mode is "error" and the response was a redirect. */
  | "redirect_error"
  /** More redirects than MAX_REDIRECTS (redirects.ts), as the Fetch standard's limit of 20. */
  | "egress_redirect_limit"
  /** Response bodies in flight across the process are at the client's maxBufferedBytes; retryable. */
  | "egress_busy"
  | "dns_failed"
  | "connect_failed"
  | "tls_failed"
  /** The request carries a host-bound secret and this hop's destination is not one of its hosts. */
  | "secret_host_mismatch"
  /** The caller's signal aborted it with no code of its own (the script called abort()). */
  | "aborted";

export class FetchError extends Error {
  override name = "FetchError";
  constructor(
    readonly code: FetchErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The codes a failure to reach a destination can have; the limits and aborts are decided by the client itself. */
export type ReachCode = "egress_denied" | "egress_timeout" | "dns_failed" | "connect_failed" | "tls_failed";

const TIMEOUTS = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "ETIMEDOUT"]);
const DNS = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_FAIL", "EAI_NODATA", "EAI_NONAME"]);
// Node's own TLS codes, OpenSSL's verification results (CERT_HAS_EXPIRED, DEPTH_ZERO_SELF_SIGNED_CERT, ...) and its handshake errors.
const TLS = /^(ERR_TLS_|ERR_SSL_|ERR_OSSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|INVALID_CA|INVALID_PURPOSE|PATH_LENGTH_EXCEEDED)/;

/**
 * The code of a failure raised while connecting, handshaking or talking to
 * a destination. The policy's own refusal wins wherever it sits in the
 * error's causes; anything not recognised is `connect_failed` (a failure
 * all the same: nothing unknown is ever taken for success).
 */
export function reachCode(error: unknown): ReachCode {
  const seen = flatten(error);
  const egress = seen.find((e): e is EgressError => e instanceof EgressError);
  if (egress) return egress.code;
  for (const e of seen) {
    const code = typeof (e as { code?: unknown }).code === "string" ? (e as { code: string }).code : "";
    if (TIMEOUTS.has(code)) return "egress_timeout";
    if (DNS.has(code)) return "dns_failed";
    if (TLS.test(code) || typeof (e as { library?: unknown }).library === "string") return "tls_failed";
  }
  return "connect_failed";
}

/**
 * The code of a fetch its caller's signal ended: the reason's own fetch code
 * when it carries one (the executor aborts with `egress_timeout` when the
 * run's wall clock runs out), `egress_timeout` for AbortSignal.timeout's
 * TimeoutError, `aborted` otherwise.
 */
export function abortCode(reason: unknown): FetchErrorCode {
  const code = (reason as { code?: unknown } | null)?.code;
  if (typeof code === "string" && CODES.has(code as FetchErrorCode)) return code as FetchErrorCode;
  if ((reason as { name?: unknown } | null)?.name === "TimeoutError") return "egress_timeout";
  return "aborted";
}

const CODES = new Set<FetchErrorCode>([
  "egress_denied",
  "egress_limit",
  "egress_timeout",
  "egress_too_large",
  "redirect_error",
  "egress_redirect_limit",
  "egress_busy",
  "dns_failed",
  "connect_failed",
  "tls_failed",
  "secret_host_mismatch",
  "aborted",
]);

/** The error, its causes and an AggregateError's members (autoSelectFamily tries each address), a few levels deep. */
function flatten(error: unknown, depth = 0): object[] {
  if (typeof error !== "object" || error === null || depth > 4) return [];
  const nested = [(error as { cause?: unknown }).cause, ...((error as { errors?: unknown }).errors instanceof Array ? (error as { errors: unknown[] }).errors : [])];
  return [error, ...nested.flatMap((e) => flatten(e, depth + 1))];
}

/** Where a fetch failed, in the script's own terms: the origin it asked for, and how many redirects were followed. */
export interface FetchPlace {
  origin: string;
  redirects: number;
}

const SAID: Record<ReachCode | "aborted", string> = {
  egress_denied: "was refused: the egress policy does not allow that destination",
  egress_timeout: "timed out",
  dns_failed: "failed: the host name did not resolve",
  connect_failed: "failed: the connection could not be made or was lost",
  tls_failed: "failed: the TLS connection could not be verified",
  aborted: "was aborted",
};

/** A FetchError whose message names only the place; `detail` (for the limits) is the client's own wording. */
export function fetchFailure(code: FetchErrorCode, place: FetchPlace, options: { detail?: string; cause?: unknown } = {}): FetchError {
  const after = place.redirects === 0 ? "" : ` after ${place.redirects} redirect${place.redirects === 1 ? "" : "s"}`;
  const what = options.detail ?? SAID[code as keyof typeof SAID] ?? "failed";
  return new FetchError(code, `fetch to ${place.origin}${after} ${what}`, options.cause === undefined ? undefined : { cause: options.cause });
}
