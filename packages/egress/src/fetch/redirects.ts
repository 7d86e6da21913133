/**
 * Following a redirect as the Fetch standard's "HTTP-redirect fetch" does,
 * one hop at a time, so that every hop goes through the egress policy again
 * (its scheme here, its destination when the connector opens it):
 * 303, and 301/302 after a POST, become a GET without the body and its
 * headers; a hop to another origin drops the credentials the script meant
 * for the first one (Authorization, Cookie, Proxy-Authorization, as Node's
 * fetch does); after 20 redirects the fetch fails.
 *
 * @example
 * const next = nextHop(hop, 303, response.location, followed);
 * if (next.ok) hop = next.value;
 */

export const MAX_REDIRECTS = 20;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const BODY_HEADERS = new Set(["content-encoding", "content-language", "content-location", "content-type"]);
const CREDENTIAL_HEADERS = new Set(["authorization", "cookie", "proxy-authorization"]);

/** One request on the way: the script's, then each redirect's. */
export interface Hop {
  method: string;
  url: URL;
  headers: Array<[string, string]>;
  body: Uint8Array | null;
}

export type NextHop = { ok: true; value: Hop } | { ok: false; code: "egress_denied" | "egress_redirect_limit"; detail: string };

export function isRedirectStatus(status: number): boolean {
  return REDIRECT_STATUSES.has(status);
}

/** Whether fetch may go to `url` at all: only `http:` and `https:`. */
export function isFetchableScheme(url: URL): boolean {
  return url.protocol === "http:" || url.protocol === "https:";
}

/** The request the redirect `status` to `location` (never null: a redirect without one is delivered as it is) leads to, after `followed` redirects. */
export function nextHop(hop: Hop, status: number, location: string, followed: number): NextHop {
  if (followed >= MAX_REDIRECTS) return { ok: false, code: "egress_redirect_limit", detail: `failed: more than ${MAX_REDIRECTS} redirects` };
  let url: URL;
  try {
    url = new URL(location, hop.url);
  } catch {
    return { ok: false, code: "egress_denied", detail: "was refused: a redirect named a URL that is not valid" };
  }
  if (!isFetchableScheme(url)) return { ok: false, code: "egress_denied", detail: "was refused: a redirect led to a URL that is not http: or https:" };

  let { method, body, headers } = hop;
  if (((status === 301 || status === 302) && method === "POST") || (status === 303 && method !== "GET" && method !== "HEAD")) {
    method = "GET";
    body = null;
    headers = headers.filter(([name]) => !BODY_HEADERS.has(name.toLowerCase()));
  }
  if (url.origin !== hop.url.origin) headers = headers.filter(([name]) => !CREDENTIAL_HEADERS.has(name.toLowerCase()));
  return { ok: true, value: { method, url, headers, body } };
}
