/**
 * `atob`, `btoa` (HTML's forgiving-base64) and the byte helpers the runtime
 * uses to carry bytes across the boundary as base64 text.
 */
import { DOMException } from "./dom-exception.ts";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const VALUE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;

/** Base64 of bytes, padded. */
export function bytesToBase64(bytes: Uint8Array): string {
  let out = "";
  const n = bytes.length;
  let i = 0;
  // Chunks keep the string concatenation from building a deep rope.
  const parts: string[] = [];
  for (; i + 2 < n; i += 3) {
    const v = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out += ALPHABET[v >> 18]! + ALPHABET[(v >> 12) & 63]! + ALPHABET[(v >> 6) & 63]! + ALPHABET[v & 63]!;
    if (out.length >= 8192) {
      parts.push(out);
      out = "";
    }
  }
  if (i < n) {
    const a = bytes[i] as number;
    const b = i + 1 < n ? (bytes[i + 1] as number) : 0;
    const v = (a << 16) | (b << 8);
    out += ALPHABET[v >> 18]! + ALPHABET[(v >> 12) & 63]! + (i + 1 < n ? ALPHABET[(v >> 6) & 63]! : "=") + "=";
  }
  parts.push(out);
  return parts.join("");
}

/** Bytes of base64 text (forgiving: ASCII whitespace ignored, padding optional); null when it is not base64. */
export function base64ToBytes(text: string): Uint8Array | null {
  let clean = text.replace(/[\t\n\f\r ]/g, "");
  if (clean.length % 4 === 0) clean = clean.replace(/==?$/, "");
  if (clean.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(clean)) return null;
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let buffer = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    buffer = (buffer << 6) | (VALUE[clean.charCodeAt(i)] as number);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buffer >> bits) & 0xff;
    }
  }
  return out;
}

/** Decodes base64 to a "binary string" (one character per byte), as HTML's `atob`. */
export function atob(data: unknown): string {
  if (arguments.length === 0) throw new TypeError("atob: 1 argument required");
  const bytes = base64ToBytes(String(data));
  if (bytes === null) throw new DOMException("atob: the string is not correctly encoded base64", "InvalidCharacterError");
  let out = "";
  for (let i = 0; i < bytes.length; i += 4096) out += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096) as unknown as number[]);
  return out;
}

/** Encodes a "binary string" (characters U+0000 to U+00FF) as base64, as HTML's `btoa`. */
export function btoa(data: unknown): string {
  if (arguments.length === 0) throw new TypeError("btoa: 1 argument required");
  const text = String(data);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) throw new DOMException("btoa: the string contains characters outside of the Latin1 range", "InvalidCharacterError");
    bytes[i] = c;
  }
  return bytesToBase64(bytes);
}
