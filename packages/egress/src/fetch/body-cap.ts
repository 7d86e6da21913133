/**
 * Reading a response body whole, decoded as fetch decodes it, but never
 * past a byte cap: bytes are counted as they arrive (after decoding, so a
 * small compressed body cannot unpack into a large one), and the stream is
 * destroyed, closing its connection, at the first chunk past the cap. At
 * most the cap plus one chunk is ever held.
 *
 * @example
 * const body = await readCappedBody(response.body, { contentEncoding: "gzip", contentLength: null, maxBytes: 10 * 1024 * 1024 });
 * if (!body.ok) throw ...; // egress_too_large
 */
import { pipeline, type Readable } from "node:stream";
import zlib from "node:zlib";

export interface CappedBodyOptions {
  /** The response's Content-Encoding (all of its values, comma-joined), or null to read the bytes as sent. */
  contentEncoding: string | null;
  /** The response's Content-Length, when it gave one. */
  contentLength: number | null;
  maxBytes: number;
}

export type CappedBody = { ok: true; value: Uint8Array } | { ok: false; reason: "too_large" };

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
  const stream: Readable = decoders.length === 0 ? source : (pipeline as unknown as (...streams: unknown[]) => Readable)(source, ...decoders, ignore);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > options.maxBytes) {
      discard(stream);
      discard(source);
      return { ok: false, reason: "too_large" };
    }
    chunks.push(chunk);
  }
  // A fresh, exactly sized buffer: Buffer.concat may answer a slice of Node's shared
  // pool, and whoever copies `.buffer` into the sandbox would copy its neighbours too.
  const body = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return { ok: true, value: body };
}

/**
 * Decoders for the codings, last applied first; none when any coding is one
 * fetch does not decode (the body is then delivered as sent, as undici does).
 * `deflate` is the zlib format RFC 9110 names.
 */
function decodersFor(contentEncoding: string | null): NodeJS.ReadWriteStream[] {
  if (contentEncoding === null) return [];
  const codings = contentEncoding
    .toLowerCase()
    .split(",")
    .map((coding) => coding.trim())
    .filter((coding) => coding !== "" && coding !== "identity");
  if (codings.length > MAX_CODINGS) return [];
  const decoders: NodeJS.ReadWriteStream[] = [];
  for (const coding of codings.reverse()) {
    const decoder = decoderFor(coding);
    if (!decoder) return [];
    decoders.push(decoder);
  }
  return decoders;
}

function decoderFor(coding: string): NodeJS.ReadWriteStream | null {
  // Sync flush at the end, as browsers and undici do: a body cut short still yields what arrived.
  const flush = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
  if (coding === "gzip" || coding === "x-gzip") return zlib.createGunzip(flush);
  if (coding === "deflate") return zlib.createInflate(flush);
  if (coding === "br") return zlib.createBrotliDecompress({ flush: zlib.constants.BROTLI_OPERATION_FLUSH, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH });
  return null;
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
