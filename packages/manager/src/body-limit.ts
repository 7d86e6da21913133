import { TooLargeError, type RetryLaterError } from "@switchyard/core";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { BodyLease } from "./body-budget.ts";

/**
 * hono's bodyLimit, without its cost on the common path. hono's version
 * reads `c.req.raw.body` first, which makes @hono/node-server build a full
 * web `Request` with a ReadableStream for every request (about a tenth of a
 * millisecond, measured in bench/inbound), even when a Content-Length
 * settles the question. Here the header decides first: Node's HTTP parser
 * never delivers more bytes than a Content-Length says, so checking it is
 * enough and the body can then be read by node-server's fast path. Only a
 * body without one (chunked) goes through hono's counting stream.
 */
export function fastBodyLimit(options: { maxSize: number; onError: (c: Context) => Response | Promise<Response> }): MiddlewareHandler {
  const streaming = bodyLimit(options);
  return async (c, next) => {
    const length = declaredLength(c);
    if (length === null) return streaming(c, next);
    if (length > options.maxSize) return options.onError(c);
    await next();
  };
}

/** A request body read whole, or why not: over its cap (413), or the process's in-flight budget spent (503). */
export type BodyRead = { ok: true; value: Buffer } | { ok: false; error: TooLargeError | RetryLaterError };

/**
 * Reads a public endpoint's body, never holding more than `cap` bytes of it:
 * a declared Content-Length over the cap is refused before any byte is read;
 * a body without one (chunked) is counted as it streams and abandoned at the
 * cap. Every byte kept is first taken from `lease` (the process-wide budget
 * of inbound bodies), so many concurrent bodies cannot exhaust memory. What
 * is left unread is drained and the connection closed by @hono/node-server.
 */
export async function readCappedBody(c: Context, cap: number, lease: BodyLease): Promise<BodyRead> {
  const declared = declaredLength(c);
  if (declared !== null) {
    if (declared > cap) return { ok: false, error: new TooLargeError("the request body", cap, declared) };
    if (!lease.take(declared)) return { ok: false, error: lease.refusal() };
    return { ok: true, value: Buffer.from(await c.req.arrayBuffer()) };
  }
  const reader = c.req.raw.body?.getReader();
  if (!reader) return { ok: true, value: Buffer.alloc(0) };
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { ok: true, value: Buffer.concat(chunks, size) };
    size += value.length;
    const refusal = size > cap ? new TooLargeError("the request body", cap, size) : lease.take(value.length) ? null : lease.refusal();
    if (refusal) {
      await reader.cancel().catch(() => undefined);
      return { ok: false, error: refusal };
    }
    chunks.push(value);
  }
}

/**
 * A Content-Length Node's parser enforces (so no more bytes can arrive), or
 * null when the body is chunked. Node refuses a malformed Content-Length
 * before we see it; anything but digits (possible only off Node's parser)
 * takes the counting path too.
 */
function declaredLength(c: Context): number | null {
  const length = c.req.header("content-length");
  if (length === undefined || !/^\d{1,15}$/.test(length) || c.req.header("transfer-encoding") !== undefined) return null;
  return Number(length);
}
