/**
 * BufferSource handling shared by the runtime's classes, INSIDE the isolate.
 */

/** A view of the bytes of an ArrayBuffer or ArrayBufferView (not a copy). */
export function toBytes(input: unknown, what: string): Uint8Array {
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (typeof SharedArrayBuffer !== "undefined" && input instanceof SharedArrayBuffer) return new Uint8Array(input);
  throw new TypeError(`${what}: expected an ArrayBuffer or a typed array`);
}

/** True for an ArrayBuffer or an ArrayBufferView. */
export function isBufferSource(input: unknown): input is ArrayBuffer | ArrayBufferView {
  return input instanceof ArrayBuffer || ArrayBuffer.isView(input);
}

/** A fresh copy of the bytes. */
export function copyBytes(input: unknown, what: string): Uint8Array {
  return toBytes(input, what).slice();
}

/** Concatenation of byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const part of parts) size += part.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
