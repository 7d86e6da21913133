import type { IncomingMessage } from "node:http";
import { TooLargeError, ValidationError, type RetryLaterError } from "@switchyard/core";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { BodyLease, BodyTimeoutError } from "./body-budget.ts";

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

/**
 * A request body read whole, or why not: over its cap (413), the process's
 * in-flight budget spent (503), not whole by its deadline (408), or cut off
 * by the client (400, which no one reads).
 */
export type BodyRead = { ok: true; value: Buffer } | { ok: false; error: TooLargeError | RetryLaterError | BodyTimeoutError | ValidationError };

/**
 * Reads a public endpoint's body, never holding more than `cap` bytes of it:
 * a declared Content-Length over the cap is refused before any byte is read;
 * otherwise bytes are counted as they arrive (a chunked body is abandoned at
 * the cap). Every byte kept is first taken from `lease` (the process-wide
 * budget of inbound bodies) as it arrives, never on a Content-Length's
 * promise: a client declaring 25 MiB and trickling them holds only what it
 * sent. The body must be whole by the lease's deadline (408). What is left
 * unread stays unread: the route answers and closes the connection
 * (lingering-close.ts), with nothing destroyed under the answer.
 */
export async function readCappedBody(c: Context, cap: number, lease: BodyLease): Promise<BodyRead> {
  const declared = declaredLength(c);
  if (declared !== null && declared > cap) return { ok: false, error: new TooLargeError("the request body", cap, declared) };
  if (declared === 0) return { ok: true, value: Buffer.alloc(0) };
  const source = bodySource(c);
  if (!source) return { ok: true, value: Buffer.alloc(0) };
  return collect(source, cap, lease);
}

/** Delivers a body's bytes as they arrive, until `stop`, which leaves the connection open for the answer. */
interface ChunkSource {
  start(sink: { chunk(bytes: Uint8Array): void; end(): void; fail(): void }): void;
  stop(): void;
}

function collect(source: ChunkSource, cap: number, lease: BodyLease): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    let settled = false;
    const finish = (result: BodyRead) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      source.stop();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, error: lease.timeout(size) }), lease.remainingMs());
    source.start({
      chunk(bytes) {
        if (settled) return;
        size += bytes.length;
        if (size > cap) finish({ ok: false, error: new TooLargeError("the request body", cap, size) });
        else if (!lease.take(bytes.length)) finish({ ok: false, error: lease.refusal() });
        else chunks.push(bytes);
      },
      end: () => finish({ ok: true, value: Buffer.concat(chunks, size) }),
      fail: () => finish({ ok: false, error: new ValidationError("the request body ended before it was whole") }),
    });
  });
}

/**
 * The body's bytes: straight from Node's request when the server is
 * @hono/node-server and nothing has read it yet (no web stream is built, and
 * stopping only pauses it: cancelling a web stream over it would destroy the
 * socket under the answer); else the web stream (`app.request()` in tests).
 */
function bodySource(c: Context): ChunkSource | null {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming && !incoming.readableDidRead && incoming.listenerCount("data") === 0) return nodeSource(incoming);
  const body = c.req.raw.body;
  return body ? webSource(body) : null;
}

function nodeSource(incoming: IncomingMessage): ChunkSource {
  let sink: Parameters<ChunkSource["start"]>[0] | null = null;
  const onData = (bytes: Buffer) => sink?.chunk(bytes);
  const onEnd = () => sink?.end();
  // A close before the end is the client going away mid-body.
  const onClose = () => (incoming.readableEnded ? sink?.end() : sink?.fail());
  const onError = () => sink?.fail();
  return {
    start(to) {
      sink = to;
      incoming.on("data", onData);
      incoming.on("end", onEnd);
      incoming.on("close", onClose);
      incoming.on("error", onError);
    },
    stop() {
      sink = null;
      incoming.off("data", onData);
      incoming.off("end", onEnd);
      incoming.off("close", onClose);
      incoming.off("error", onError);
      if (!incoming.readableEnded) incoming.pause();
    },
  };
}

function webSource(body: ReadableStream<Uint8Array>): ChunkSource {
  const reader = body.getReader();
  let stopped = false;
  return {
    start(sink) {
      void (async () => {
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (stopped) return;
            if (done) return sink.end();
            sink.chunk(value);
          }
        } catch {
          if (!stopped) sink.fail();
        }
      })();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      void reader.cancel().catch(() => undefined);
    },
  };
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
