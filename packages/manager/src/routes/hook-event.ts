import { findUnstorable, findUnstorableText, UnstorableInputError, ValidationError } from "@switchyard/core";
import type { Context } from "hono";

// Credentials a caller sent to us are not handed on to scripts or stored with the event.
const DROPPED_HEADERS = new Set(["authorization", "cookie", "proxy-authorization"]);

export type HookEvent = { ok: true; value: Record<string, unknown> } | { ok: false; error: ValidationError | UnstorableInputError };

/**
 * API.md's `http` payload of a hook request: method, path, query, headers
 * and the body (parsed when it is JSON). Anything storage could not keep
 * (U+0000, a lone surrogate, JSON deeper than 100 levels) is refused here,
 * named by where it is, before anything is written.
 */
export function hookEvent(c: Context, body: Buffer): HookEvent {
  const raw = body.toString("utf8");
  let parsed: unknown = raw;
  if (/json/i.test(c.req.header("content-type") ?? "") && raw.length > 0) {
    try {
      parsed = JSON.parse(raw);
    } catch {
      return { ok: false, error: new ValidationError("the body is not valid JSON") };
    }
  }
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(c.req.header())) if (!DROPPED_HEADERS.has(key)) headers[key] = value;
  const url = new URL(c.req.url);
  const query = Object.fromEntries(url.searchParams);
  const problem =
    (typeof parsed === "string" ? prefixed(findUnstorableText(parsed), "body") : prefixed(findUnstorable(parsed), "body")) ??
    prefixed(findUnstorable(query), "query") ??
    prefixed(findUnstorable(headers), "headers");
  if (problem) return { ok: false, error: problem };
  return { ok: true, value: { method: c.req.method, path: url.pathname, query, headers, body: parsed } };
}

const prefixed = (problem: ReturnType<typeof findUnstorable>, where: string) => (problem ? new UnstorableInputError(problem, where) : null);
