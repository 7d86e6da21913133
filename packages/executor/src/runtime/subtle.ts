/**
 * `crypto.subtle` and `CryptoKey`, INSIDE the isolate. Every operation runs
 * on the host with node:crypto's Web Crypto (native, constant-time): the
 * isolate sends the method, its arguments as copied data (bytes as base64,
 * keys as their private record) and gets copied data back. A key's material
 * is never here: its record holds it sealed by the host (host-subtle.ts), so
 * a script that reaches the record by replacing a builtin this file calls
 * finds only ciphertext, and cannot alter it. Whether a key may be exported
 * is checked by node:crypto itself on every use.
 */
import { bytesToBase64, base64ToBytes } from "./base64.ts";
import { decodeReply, host } from "./bridge.ts";
import { isBufferSource, toBytes } from "./bytes.ts";
import { DOMException } from "./dom-exception.ts";

/** A key as it crosses: what CryptoKey shows, and what the host needs to import it again, sealed. */
interface KeyRecord {
  type: string;
  extractable: boolean;
  algorithm: Record<string, unknown>;
  usages: string[];
  /** Opaque here: the host's ciphertext of the whole record, material included. */
  sealed: string;
}

const records = new WeakMap<object, KeyRecord>();
let constructing = false;

/** A key `crypto.subtle` made; its material is not reachable from script. */
export class CryptoKey {
  constructor() {
    if (!constructing) throw new TypeError("Illegal constructor");
  }
  get type(): string {
    return recordOf(this).type;
  }
  get extractable(): boolean {
    return recordOf(this).extractable;
  }
  get algorithm(): Record<string, unknown> {
    return decode(recordOf(this).algorithm) as Record<string, unknown>;
  }
  get usages(): string[] {
    return [...recordOf(this).usages];
  }
}

function recordOf(key: unknown): KeyRecord {
  const record = records.get(key as object);
  if (!record) throw new TypeError("Illegal invocation: not a CryptoKey");
  return record;
}

function makeKey(record: KeyRecord): CryptoKey {
  constructing = true;
  try {
    const key = new CryptoKey();
    records.set(key, record);
    return key;
  } finally {
    constructing = false;
  }
}

// Wire form: bytes as {"$b": base64}, keys as {"$k": record}; everything
// else as JSON. Only own enumerable data of plain values is read.
function encode(value: unknown, depth = 0): unknown {
  if (depth > 8) throw new TypeError("crypto.subtle: argument nested too deeply");
  if (value === null || typeof value !== "object") {
    if (typeof value === "function" || typeof value === "symbol") return undefined;
    if (typeof value === "bigint") throw new TypeError("crypto.subtle: a BigInt is not a valid argument");
    return value;
  }
  if (isBufferSource(value)) return { $b: bytesToBase64(toBytes(value, "crypto.subtle")) };
  const record = records.get(value);
  if (record) return { $k: record };
  if (Array.isArray(value)) return value.map((item) => encode(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = encode((value as Record<string, unknown>)[key], depth + 1);
  // Dictionaries are read by member, inherited ones too (WebIDL): the usual `{name: "HMAC", hash}`.
  for (const key of ["name", "hash", "length", "namedCurve", "iv", "salt", "info", "iterations", "additionalData", "tagLength", "public", "counter", "label"]) {
    if (!(key in out) && key in value) out[key] = encode((value as Record<string, unknown>)[key], depth + 1);
  }
  return out;
}

function decode(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(decode);
  const object = value as Record<string, unknown>;
  if (typeof object.$b === "string") {
    const bytes = base64ToBytes(object.$b) ?? new Uint8Array(0);
    return bytes.buffer;
  }
  if (object.$k !== undefined) return makeKey(object.$k as KeyRecord);
  if (object.$u !== undefined) return base64ToBytes(String(object.$u)) ?? new Uint8Array(0);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(object)) out[key] = decode(object[key]);
  return out;
}

async function perform(method: string, args: unknown[]): Promise<unknown> {
  const arg = JSON.stringify({ method, args: args.map((a) => encode(a)) });
  const reply = decodeReply(await host().call("subtle", arg));
  if (reply.ok) return decode(reply.value);
  if (reply.code === "TypeError") throw new TypeError(reply.message);
  throw new DOMException(reply.message, reply.code);
}

function required(name: string, given: number, needed: number): void {
  if (given < needed) throw new TypeError(`SubtleCrypto.${name}: ${needed} arguments required, but only ${given} present`);
}

/** `crypto.subtle`; see the file comment. */
export class SubtleCrypto {
  constructor() {
    if (!constructing) throw new TypeError("Illegal constructor");
  }
  async digest(algorithm: unknown, data: unknown): Promise<ArrayBuffer> {
    required("digest", arguments.length, 2);
    return (await perform("digest", [algorithm, data])) as ArrayBuffer;
  }
  async encrypt(algorithm: unknown, key: CryptoKey, data: unknown): Promise<ArrayBuffer> {
    required("encrypt", arguments.length, 3);
    return (await perform("encrypt", [algorithm, key, data])) as ArrayBuffer;
  }
  async decrypt(algorithm: unknown, key: CryptoKey, data: unknown): Promise<ArrayBuffer> {
    required("decrypt", arguments.length, 3);
    return (await perform("decrypt", [algorithm, key, data])) as ArrayBuffer;
  }
  async sign(algorithm: unknown, key: CryptoKey, data: unknown): Promise<ArrayBuffer> {
    required("sign", arguments.length, 3);
    return (await perform("sign", [algorithm, key, data])) as ArrayBuffer;
  }
  async verify(algorithm: unknown, key: CryptoKey, signature: unknown, data: unknown): Promise<boolean> {
    required("verify", arguments.length, 4);
    return (await perform("verify", [algorithm, key, signature, data])) === true;
  }
  async generateKey(algorithm: unknown, extractable: unknown, usages: unknown): Promise<unknown> {
    required("generateKey", arguments.length, 3);
    return perform("generateKey", [algorithm, Boolean(extractable), usages]);
  }
  async importKey(format: unknown, keyData: unknown, algorithm: unknown, extractable: unknown, usages: unknown): Promise<CryptoKey> {
    required("importKey", arguments.length, 5);
    return (await perform("importKey", [String(format), keyData, algorithm, Boolean(extractable), usages])) as CryptoKey;
  }
  async exportKey(format: unknown, key: CryptoKey): Promise<unknown> {
    required("exportKey", arguments.length, 2);
    recordOf(key);
    return perform("exportKey", [String(format), key]);
  }
  async deriveBits(algorithm: unknown, baseKey: CryptoKey, length?: unknown): Promise<ArrayBuffer> {
    required("deriveBits", arguments.length, 2);
    return (await perform("deriveBits", [algorithm, baseKey, length ?? null])) as ArrayBuffer;
  }
  async deriveKey(algorithm: unknown, baseKey: CryptoKey, derivedKeyType: unknown, extractable: unknown, usages: unknown): Promise<CryptoKey> {
    required("deriveKey", arguments.length, 5);
    return (await perform("deriveKey", [algorithm, baseKey, derivedKeyType, Boolean(extractable), usages])) as CryptoKey;
  }
  async wrapKey(format: unknown, key: CryptoKey, wrappingKey: CryptoKey, wrapAlgorithm: unknown): Promise<ArrayBuffer> {
    required("wrapKey", arguments.length, 4);
    return (await perform("wrapKey", [String(format), key, wrappingKey, wrapAlgorithm])) as ArrayBuffer;
  }
  async unwrapKey(
    format: unknown,
    wrappedKey: unknown,
    unwrappingKey: CryptoKey,
    unwrapAlgorithm: unknown,
    unwrappedKeyAlgorithm: unknown,
    extractable: unknown,
    usages: unknown,
  ): Promise<CryptoKey> {
    required("unwrapKey", arguments.length, 7);
    return (await perform("unwrapKey", [String(format), wrappedKey, unwrappingKey, unwrapAlgorithm, unwrappedKeyAlgorithm, Boolean(extractable), usages])) as CryptoKey;
  }
}

/** The one instance, for `crypto.subtle`. */
export function createSubtle(): SubtleCrypto {
  constructing = true;
  try {
    return new SubtleCrypto();
  } finally {
    constructing = false;
  }
}
