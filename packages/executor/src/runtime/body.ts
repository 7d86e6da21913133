/**
 * The Fetch Standard's body: extracting one from what a script passes
 * (string, bytes, Blob, URLSearchParams, FormData) and the read methods
 * Request and Response share. INSIDE the isolate; bodies are whole byte
 * arrays (no streams).
 */
import { Blob, blobBytes } from "./blob.ts";
import { isBufferSource, toBytes } from "./bytes.ts";
import { utf8Encode } from "./encoding.ts";
import { FormData, decodeMultipart, encodeMultipart } from "./form-data.ts";
import type { Headers } from "./headers.ts";
import { isUrlSearchParams, parseUrlEncoded } from "./url.ts";
import { utf8Decode } from "./utf8.ts";
import { randomUUID } from "./crypto.ts";

/** A body and the content type it implies. */
export interface Extracted {
  bytes: Uint8Array;
  type: string | null;
}

/** What `new Request(url, {body})` and `new Response(body)` accept. */
export type BodyInit = string | ArrayBuffer | ArrayBufferView | Blob | URLSearchParams | FormData;

/** The bytes and implied content type of `body`; see the file comment. */
export function extractBody(body: unknown): Extracted {
  if (typeof body === "string") return { bytes: utf8Encode(body), type: "text/plain;charset=UTF-8" };
  if (isBufferSource(body)) return { bytes: toBytes(body, "body").slice(), type: null };
  if (body instanceof Blob) return { bytes: blobBytes(body).slice(), type: body.type === "" ? null : body.type };
  if (isUrlSearchParams(body)) return { bytes: utf8Encode(body.toString()), type: "application/x-www-form-urlencoded;charset=UTF-8" };
  if (body instanceof FormData) {
    const boundary = "----formdata-switchyard-" + randomUUID().replace(/-/g, "");
    return { bytes: encodeMultipart(body, boundary), type: "multipart/form-data; boundary=" + boundary };
  }
  if (body !== null && typeof body === "object" && typeof (body as { getReader?: unknown }).getReader === "function") {
    throw new TypeError("fetch: stream bodies are not supported in this runtime; pass a string, bytes, Blob, URLSearchParams or FormData");
  }
  return { bytes: utf8Encode(String(body)), type: "text/plain;charset=UTF-8" };
}

interface BodyState {
  bytes: Uint8Array | null;
  used: boolean;
  headers: Headers;
}

const bodies = new WeakMap<object, BodyState>();

/** Attaches a body to a Request or Response made by this runtime. */
export function setBody(owner: object, bytes: Uint8Array | null, headers: Headers): void {
  bodies.set(owner, { bytes, used: false, headers });
}

function stateOf(owner: unknown): BodyState {
  const state = bodies.get(owner as object);
  if (!state) throw new TypeError("Illegal invocation");
  return state;
}

/** The body's bytes without consuming it (for fetch and clone); null when there is none. */
export function peekBody(owner: object): Uint8Array | null {
  return stateOf(owner).bytes;
}

/** True when the body was read already. */
export function bodyUsed(owner: object): boolean {
  return stateOf(owner).used;
}

function consume(owner: unknown): Uint8Array {
  const state = stateOf(owner);
  if (state.used) throw new TypeError("Body is unusable: the body has already been read");
  if (state.bytes === null) return new Uint8Array(0);
  state.used = true;
  return state.bytes;
}

/** Shared by Request and Response: the body's read methods. */
export abstract class Body {
  get bodyUsed(): boolean {
    return stateOf(this).used;
  }
  /** Streams are not part of this runtime: a body is read whole with the methods below. */
  get body(): null {
    return null;
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    return consume(this).slice().buffer;
  }
  async bytes(): Promise<Uint8Array> {
    return consume(this).slice();
  }
  async text(): Promise<string> {
    return utf8Decode(consume(this));
  }
  async json(): Promise<unknown> {
    return JSON.parse(utf8Decode(consume(this)));
  }
  async blob(): Promise<Blob> {
    const type = stateOf(this).headers.get("content-type") ?? "";
    return new Blob([consume(this)], { type });
  }
  async formData(): Promise<FormData> {
    const type = stateOf(this).headers.get("content-type") ?? "";
    const bytes = consume(this);
    const essence = type.split(";")[0]?.trim().toLowerCase();
    if (essence === "multipart/form-data") {
      const boundary = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(type);
      if (!boundary) throw new TypeError("formData: the multipart content type has no boundary");
      return decodeMultipart(bytes, (boundary[1] ?? boundary[2]) as string);
    }
    if (essence === "application/x-www-form-urlencoded") {
      const form = new FormData();
      for (const [name, value] of parseUrlEncoded(utf8Decode(bytes))) form.append(name, value);
      return form;
    }
    throw new TypeError("formData: the content type is neither multipart/form-data nor application/x-www-form-urlencoded");
  }
}
