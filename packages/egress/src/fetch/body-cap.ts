/**
 * Reading a response body whole, decoded as fetch decodes it, but never
 * past a byte cap: bytes are counted as they arrive (after decoding, so a
 * small compressed body cannot unpack into a large one), and the stream is
 * destroyed, closing its connection, at the first chunk past the cap. At
 * most the cap plus one chunk is ever held. When a process-wide budget is
 * given (body-budget.ts), every byte held is taken from it as it arrives,
 * and given back when the reading ends, whichever way it ends.
 *
 * @example
 * const body = await readCappedBody(response.body, { contentEncoding: "gzip", contentLength: null, maxBytes: 10 * 1024 * 1024 });
 * if (!body.ok) throw ...; // egress_too_large, or egress_busy for reason "busy"
 */
import { pipeline, type Readable } from "node:stream";
import zlib from "node:zlib";
import type { BodyBudget } from "./body-budget.ts";

export interface CappedBodyOptions {
  /** The response's Content-Encoding (all of its values, comma-joined), or null to read the bytes as sent. */
  contentEncoding: string | null;
  /** The response's Content-Length, when it gave one. */
  contentLength: number | null;
  maxBytes: number;
  /** The process's budget of body bytes in flight; none means unbounded across responses. */
  budget?: BodyBudget;
}

/** `too_large`: past this response's cap; `busy`: the process-wide budget could not cover it. */
export type CappedBody = { ok: true; value: Uint8Array } | { ok: false; reason: "too_large" | "busy" };

// More codings than this is no real server's answer; such a body is delivered as sent.
const MAX_CODINGS = 5;

/** Reads `source` whole; rejects with the stream's own error when reading fails (mapped by the caller). */
export async function readCappedBody(source: Readable, options: CappedBodyOptions): Promise<CappedBody> {
  const decoders = decodersFor(options.contentEncoding);
  // A body that says up front it is past the cap, and is not decoded, is refused without reading it.
  if (decoders.length === 0 && options.contentLength !== null && options.contentLength > options.maxBytes) {
    discard(source);
    return { ok: false, reason: "too_large" };
  }
  const budget = options.budget;
  // Announced past what is left: refused before a byte of it is held.
  if (budget && decoders.length === 0 && options.contentLength !== null && budget.held() + options.contentLength > budget.limit) {
    discard(source);
    return { ok: false, reason: "busy" };
  }
  let taken = 0;
  try {
    return await readWithin(source, decoders, options.maxBytes, (bytes) => {
      if (budget && !budget.take(bytes)) return false;
      taken += bytes;
      return true;
    });
  } finally {
    // Handed over (the caller returns the body at once) or failed: either way no longer ours to count.
    budget?.give(taken);
  }
}

async function readWithin(source: Readable, decoders: NodeJS.ReadWriteStream[], maxBytes: number, take: (bytes: number) => boolean): Promise<CappedBody> {
  const stream: Readable = decoders.length === 0 ? source : (pipeline as unknown as (...streams: unknown[]) => Readable)(source, ...decoders, ignore);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      discard(stream);
      discard(source);
      return { ok: false, reason: "too_large" };
    }
    if (!take(chunk.byteLength)) {
      discard(stream);
      discard(source);
      return { ok: false, reason: "busy" };
    }
    chunks.push(chunk);
  }
  // A fresh, exactly sized buffer: Buffer.concat may answer a slice of Node's shared
  // pool, and whoever copies `.buffer` into the sandbox would copy its neighbours too.
  // The copy is not budgeted: it is made and handed over in one synchronous
  // step, so at most one body past the budget exists at any moment.
  const body = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return { ok: true, value: body };
}

/** The codings named, in the order applied; null when there are too many to decode. */
function codingsOf(contentEncoding: string | null): string[] | null {
  if (contentEncoding === null) return [];
  const codings = contentEncoding
    .toLowerCase()
    .split(",")
    .map((coding) => coding.trim())
    .filter((coding) => coding !== "" && coding !== "identity");
  return codings.length > MAX_CODINGS ? null : codings;
}

const DECODED = new Set(["gzip", "x-gzip", "deflate", "br"]);

/**
 * Whether a body sent with this `Content-Encoding` reaches the script
 * decoded; otherwise it is delivered as sent.
 */
export function decodesContentEncoding(contentEncoding: string | null): boolean {
  return codingsOf(contentEncoding)?.every((coding) => DECODED.has(coding)) ?? false;
}

/**
 * Decoders for the codings, last applied first; none when any coding is one
 * fetch does not decode (the body is then delivered as sent, as undici does).
 * `deflate` is the zlib format RFC 9110 names.
 */
function decodersFor(contentEncoding: string | null): NodeJS.ReadWriteStream[] {
  if (!decodesContentEncoding(contentEncoding)) return [];
  return (codingsOf(contentEncoding) as string[]).reverse().map(decoderFor);
}

/** The decoder of one of the DECODED codings. */
function decoderFor(coding: string): NodeJS.ReadWriteStream {
  // Sync flush at the end, as browsers and undici do: a body cut short still yields what arrived.
  const flush = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
  if (coding === "gzip" || coding === "x-gzip") return zlib.createGunzip(flush);
  if (coding === "deflate") return zlib.createInflate(flush);
  return zlib.createBrotliDecompress({ flush: zlib.constants.BROTLI_OPERATION_FLUSH, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH });
}

/**
 * Destroys a body nobody will read, closing its connection. Destroyed
 * without an error, undici's body emits one (aborted) of its own, which
 * nobody is left to hear.
 */
export function discard(body: Readable): void {
  body.on("error", ignore);
  body.destroy();
}

// pipeline reports its error through the last stream too, which the reader iterates.
function ignore(): void {}
