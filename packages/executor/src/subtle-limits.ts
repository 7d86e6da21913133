/**
 * What one `crypto.subtle` call may make the host do. node:crypto runs most
 * of Web Crypto on libuv's threadpool (four threads, shared with DNS lookups,
 * file reads and zlib), and a job once started cannot be stopped: it runs on
 * after the run's wall clock ends. So every call's work is bounded before it
 * starts, and each run has only a few at once (run-subtle.ts).
 *
 * The limits, chosen to keep any one call near a second of one thread or
 * less, and to leave every common use working:
 * - PBKDF2: at most 1,000,000 iterations (OWASP's 2023 advice is 600,000 for
 *   SHA-256; Cloudflare Workers stops at 100,000, which refuses it), and at
 *   most 1,024 bits derived (each 256 or 512 bits costs all the iterations
 *   again; 1,024 is HMAC-SHA-512's whole key).
 * - RSA: keys of at most 4,096 bits generated (an 8,192-bit key takes many
 *   seconds to find), at most 8,192 bits imported, and a public exponent of
 *   at most 32 bits (65537 everywhere in practice; a huge one makes every
 *   public operation cost what a private one does).
 * - HMAC: keys of at most 8,192 bits generated or derived.
 * - At most 8 MiB of data (the sum of every byte argument) and 4 keys in
 *   one call.
 *
 * A parameter past its limit is a NotSupportedError (what Cloudflare Workers
 * answers for PBKDF2 iterations past its own), too much data a
 * QuotaExceededError; both name the limit. Nothing of the host is in them.
 */
import type { webcrypto } from "node:crypto";

export const SUBTLE_LIMITS = Object.freeze({
  maxDataBytes: 8 * 1024 * 1024,
  maxKeysPerCall: 4,
  maxPbkdf2Iterations: 1_000_000,
  maxPbkdf2Bits: 1024,
  maxRsaGenerateBits: 4096,
  maxRsaBits: 8192,
  maxRsaExponentBytes: 4,
  maxHmacKeyBits: 8192,
  /** Operations one run has running on the host at once; more wait (run-subtle.ts). */
  maxInFlightPerRun: 4,
  /** Operations one run may have waiting, and the JSON characters they may hold; past either, QuotaExceededError. */
  maxWaitingPerRun: 1000,
  maxWaitingCharsPerRun: 16 * 1024 * 1024,
});

/** The longest call JSON worth parsing: the data cap as base64, and room for keys and dictionaries. */
export const MAX_CALL_CHARS = Math.ceil(SUBTLE_LIMITS.maxDataBytes / 3) * 4 + 1024 * 1024;

const L = SUBTLE_LIMITS;
// Block sizes in bits: an HMAC key without a length is one block long.
const HASH_BLOCK_BITS: Record<string, number> = { "SHA-1": 512, "SHA-256": 512, "SHA-384": 1024, "SHA-512": 1024 };

/** A DOMException naming a limit; its `name` reaches the script. */
function limit(name: "NotSupportedError" | "QuotaExceededError", message: string): DOMException {
  return new DOMException(`crypto.subtle: ${message}`, name);
}

export function tooManyKeys(): DOMException {
  return limit("QuotaExceededError", `a call may carry at most ${L.maxKeysPerCall} keys`);
}

export function tooMuchData(): DOMException {
  return limit("QuotaExceededError", `a call may carry at most ${L.maxDataBytes} bytes of data`);
}

/** Throws the limit a call's decoded arguments pass, if any (its data and keys are counted as they are decoded). */
export function checkSubtleCall(method: string, args: readonly unknown[]): void {
  switch (method) {
    case "deriveBits":
      checkPbkdf2(args[0], args[2] === undefined || args[2] === null ? null : uint32(args[2]));
      return;
    case "deriveKey":
      checkHmacLength(args[2]);
      checkPbkdf2(args[0], derivedBits(args[2]));
      return;
    case "generateKey":
      checkHmacLength(args[0]);
      checkRsaGenerate(args[0]);
      return;
    case "importKey":
      checkHmacLength(args[2]);
      return;
    case "unwrapKey":
      checkHmacLength(args[4]);
      return;
  }
}

/** Throws when a key made by import or unwrap is one whose every use would cost too much. */
export function checkMadeKey(key: webcrypto.CryptoKey): void {
  const algorithm = key.algorithm as { modulusLength?: unknown; publicExponent?: unknown };
  if (typeof algorithm.modulusLength === "number" && algorithm.modulusLength > L.maxRsaBits) {
    throw limit("NotSupportedError", `RSA keys are limited to ${L.maxRsaBits} bits`);
  }
  if (algorithm.publicExponent instanceof Uint8Array && significantBytes(algorithm.publicExponent) > L.maxRsaExponentBytes) {
    throw limit("NotSupportedError", `an RSA public exponent is limited to ${L.maxRsaExponentBytes * 8} bits`);
  }
}

function params(algorithm: unknown): { name: string; [key: string]: unknown } {
  if (typeof algorithm === "string") return { name: algorithm.toUpperCase() };
  if (algorithm === null || typeof algorithm !== "object") return { name: "" };
  const name = (algorithm as { name?: unknown }).name;
  return { ...(algorithm as object), name: typeof name === "string" ? name.toUpperCase() : "" };
}

/**
 * A number as node:crypto's Web IDL conversion (`unsigned long`) will read
 * it: a string "1e9" is 1e9 and -1 is 4294967295, so a limit checked on the
 * raw value could be walked around.
 */
function uint32(value: unknown): number {
  return Number(value) >>> 0;
}

function hashName(hash: unknown): string {
  return params(hash).name;
}

function checkPbkdf2(algorithm: unknown, bits: number | null): void {
  const p = params(algorithm);
  if (p.name !== "PBKDF2") return;
  if (uint32(p.iterations) > L.maxPbkdf2Iterations) {
    throw limit("NotSupportedError", `PBKDF2 is limited to ${L.maxPbkdf2Iterations} iterations`);
  }
  if (bits !== null && bits > L.maxPbkdf2Bits) throw limit("NotSupportedError", `PBKDF2 derives at most ${L.maxPbkdf2Bits} bits`);
}

/** The bits deriveKey derives for `derivedKeyType`, as Web Crypto's "get key length" answers; null when node:crypto will refuse it anyway. */
function derivedBits(derivedKeyType: unknown): number | null {
  const p = params(derivedKeyType);
  if (p.length !== undefined && p.length !== null) return uint32(p.length);
  if (p.name === "HMAC") return HASH_BLOCK_BITS[hashName(p.hash)] ?? null;
  return null;
}

function checkHmacLength(algorithm: unknown): void {
  const p = params(algorithm);
  if (p.name === "HMAC" && uint32(p.length) > L.maxHmacKeyBits) {
    throw limit("NotSupportedError", `HMAC keys are limited to ${L.maxHmacKeyBits} bits`);
  }
}

function checkRsaGenerate(algorithm: unknown): void {
  const p = params(algorithm);
  if (!p.name.startsWith("RSA")) return;
  if (uint32(p.modulusLength) > L.maxRsaGenerateBits) {
    throw limit("NotSupportedError", `RSA keys generated are limited to ${L.maxRsaGenerateBits} bits`);
  }
  if (p.publicExponent instanceof Uint8Array && significantBytes(p.publicExponent) > L.maxRsaExponentBytes) {
    throw limit("NotSupportedError", `an RSA public exponent is limited to ${L.maxRsaExponentBytes * 8} bits`);
  }
}

function significantBytes(bytes: Uint8Array): number {
  let first = 0;
  while (first < bytes.length && bytes[first] === 0) first++;
  return bytes.length - first;
}
