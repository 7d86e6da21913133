/**
 * The host side of `crypto.subtle` (runtime/subtle.ts): each call is done by
 * node:crypto's Web Crypto on copied data. A key crosses as a record (its
 * algorithm, usages, extractability and material); it is imported again for
 * every use with the extractability the script asked for, so node:crypto
 * itself refuses to export or wrap a non-extractable key. Keys the host makes
 * (generate, import, derive, unwrap) are made extractable here only to copy
 * their material into the record.
 *
 * The record crosses sealed (AES-256-GCM under a key this process draws at
 * start and never hands out, bound to the app): the isolate holds the key's
 * type, algorithm, usages and extractability in the clear, for CryptoKey's
 * getters, and the rest only as ciphertext. Script code can replace any
 * builtin the runtime calls (JSON.stringify, an Object.prototype.toJSON,
 * WeakMap.prototype.set) and so reach the record, but never the material in
 * it; and a record it alters (extractable: true) or carries to another app
 * no longer opens. Only the sealed copy's fields are ever used here.
 *
 * What a call may cost is bounded before it starts (subtle-limits.ts), and
 * how many of a run's calls run at once by run-subtle.ts.
 */
import { createCipheriv, createDecipheriv, randomBytes, webcrypto } from "node:crypto";
import { checkMadeKey, checkSubtleCall, MAX_CALL_CHARS, SUBTLE_LIMITS, tooManyKeys, tooMuchData } from "./subtle-limits.ts";

type Subtle = typeof webcrypto.subtle;
type Key = webcrypto.CryptoKey;

/** A key as the host knows it; see the file comment. */
interface KeyRecord {
  type: string;
  extractable: boolean;
  algorithm: unknown;
  usages: string[];
  material: { format: "jwk" | "raw"; data: unknown };
}

/** A key as it crosses: what CryptoKey shows, and the whole record sealed. */
interface SealedKey {
  type: string;
  extractable: boolean;
  algorithm: unknown;
  usages: string[];
  sealed: string;
}

/** The answer: the result's wire JSON, or an error by name (a DOMException name, or "TypeError"). */
export type SubtleAnswer = { ok: true; json: string } | { ok: false; name: string; message: string };

const subtle: Subtle = webcrypto.subtle;
// Drawn once per process: sealed keys live in contexts, which never outlive it.
const SEAL_KEY = randomBytes(32);
const IV_BYTES = 12;
const TAG_BYTES = 16;
// Keys node:crypto cannot export: kept as the raw bytes they were imported from.
const RAW_ONLY = new Set(["HKDF", "PBKDF2"]);

/** One call being decoded: whose keys it may open, and what it has carried so far (subtle-limits.ts). */
interface CallState {
  scope: string;
  keys: number;
  bytes: number;
}

function algorithmName(algorithm: unknown): string {
  const name = typeof algorithm === "string" ? algorithm : (algorithm as { name?: unknown } | null)?.name;
  return typeof name === "string" ? name.toUpperCase() : "";
}

function seal(record: KeyRecord, scope: string): SealedKey {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", SEAL_KEY, iv).setAAD(Buffer.from(scope, "utf8"));
  const body = Buffer.concat([cipher.update(JSON.stringify(record), "utf8"), cipher.final()]);
  const { type, extractable, algorithm, usages } = record;
  return { type, extractable, algorithm, usages, sealed: Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64") };
}

function unseal(key: unknown, scope: string): KeyRecord {
  const sealed = typeof key === "object" && key !== null ? (key as { sealed?: unknown }).sealed : undefined;
  const bytes = typeof sealed === "string" ? Buffer.from(sealed, "base64") : Buffer.alloc(0);
  if (bytes.byteLength <= IV_BYTES + TAG_BYTES) throw new TypeError("crypto.subtle: not a CryptoKey");
  try {
    const decipher = createDecipheriv("aes-256-gcm", SEAL_KEY, bytes.subarray(0, IV_BYTES)).setAAD(Buffer.from(scope, "utf8"));
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return JSON.parse(Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8")) as KeyRecord;
  } catch {
    // Altered, or made for another app: either way not a key of this script's.
    throw new TypeError("crypto.subtle: not a CryptoKey");
  }
}

async function importRecord(record: KeyRecord): Promise<Key> {
  // Our own sealed record: no keys inside, and its bytes were counted when the key was imported.
  const own: CallState = { scope: "", keys: SUBTLE_LIMITS.maxKeysPerCall, bytes: 0 };
  const algorithm = await decode(record.algorithm, own);
  const data = await decode(record.material.data, own);
  if (record.material.format === "raw") return subtle.importKey("raw", data as Uint8Array, algorithm as never, false, record.usages as never);
  return subtle.importKey("jwk", data as webcrypto.JsonWebKey, algorithm as never, record.extractable, record.usages as never);
}

async function decode(value: unknown, call: CallState, depth = 0): Promise<unknown> {
  if (depth > 10) throw new TypeError("argument nested too deeply");
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return Promise.all(value.map((v) => decode(v, call, depth + 1)));
  const object = value as Record<string, unknown>;
  if (typeof object.$b === "string") return counted(Buffer.from(object.$b, "base64"), call);
  if (typeof object.$u === "string") return counted(Buffer.from(object.$u, "base64"), call);
  if (object.$k !== undefined) {
    // Each key is imported again (an RSA key's JWK parsed): a call gets a few, as many as any method takes.
    if (++call.keys > SUBTLE_LIMITS.maxKeysPerCall) throw tooManyKeys();
    return importRecord(unseal(object.$k, call.scope));
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(object)) out[key] = await decode(item, call, depth + 1);
  return out;
}

function counted(buffer: Buffer, call: CallState): Uint8Array {
  call.bytes += buffer.byteLength;
  if (call.bytes > SUBTLE_LIMITS.maxDataBytes) throw tooMuchData();
  return new Uint8Array(buffer);
}

function encodeAlgorithm(algorithm: unknown): unknown {
  if (algorithm instanceof Uint8Array) return { $u: Buffer.from(algorithm).toString("base64") };
  if (algorithm === null || typeof algorithm !== "object") return algorithm;
  return Object.fromEntries(Object.entries(algorithm).map(([k, v]) => [k, encodeAlgorithm(v)]));
}

/** The sealed record of a key made extractable here; `extractable` is what the script asked for. */
async function recordOf(key: Key, extractable: boolean, scope: string, raw?: Uint8Array): Promise<{ $k: SealedKey }> {
  const material: KeyRecord["material"] = raw
    ? { format: "raw", data: { $b: Buffer.from(raw).toString("base64") } }
    : { format: "jwk", data: await subtle.exportKey("jwk", key) };
  // A public key is always extractable (Web Crypto's generateKey does the same).
  return { $k: seal({ type: key.type, extractable: key.type === "public" ? true : extractable, algorithm: encodeAlgorithm(key.algorithm), usages: [...key.usages], material }, scope) };
}

async function encodeKeys(made: Key | webcrypto.CryptoKeyPair, extractable: boolean, scope: string): Promise<unknown> {
  if ("privateKey" in made) return { publicKey: await recordOf(made.publicKey, extractable, scope), privateKey: await recordOf(made.privateKey, extractable, scope) };
  return recordOf(made, extractable, scope);
}

/** A key imported or unwrapped, once it is known not to be one too costly to use (subtle-limits.ts). */
function checked(key: Key): Key {
  checkMadeKey(key);
  return key;
}

function bytes(buffer: ArrayBuffer): { $b: string } {
  return { $b: Buffer.from(buffer).toString("base64") };
}

async function perform(method: string, args: unknown[], scope: string): Promise<unknown> {
  checkSubtleCall(method, args);
  switch (method) {
    case "digest":
      return bytes(await subtle.digest(...(args as Parameters<Subtle["digest"]>)));
    case "encrypt":
    case "decrypt":
    case "sign":
    case "deriveBits":
    case "wrapKey":
      return bytes(await (subtle[method] as (...a: unknown[]) => Promise<ArrayBuffer>)(...args));
    case "verify":
      return subtle.verify(...(args as Parameters<Subtle["verify"]>));
    case "exportKey": {
      const out = await subtle.exportKey(args[0] as never, args[1] as Key);
      return out instanceof ArrayBuffer ? bytes(out) : out;
    }
    case "importKey": {
      const [format, keyData, algorithm, extractable, usages] = args as [string, unknown, unknown, boolean, string[]];
      if (RAW_ONLY.has(algorithmName(algorithm))) {
        const key = await subtle.importKey(format as never, keyData as never, algorithm as never, false, usages as never);
        return recordOf(key, false, scope, keyData as Uint8Array);
      }
      // A JWK saying "ext": false is imported for copying; the record keeps the script's answer.
      const data = format === "jwk" && keyData !== null && typeof keyData === "object" ? { ...(keyData as object), ext: true } : keyData;
      return recordOf(checked(await subtle.importKey(format as never, data as never, algorithm as never, true, usages as never)), extractable, scope);
    }
    case "generateKey": {
      const [algorithm, extractable, usages] = args as [unknown, boolean, string[]];
      return encodeKeys(await subtle.generateKey(algorithm as never, true, usages as never), extractable, scope);
    }
    case "deriveKey": {
      const [algorithm, baseKey, derived, extractable, usages] = args as [unknown, Key, unknown, boolean, string[]];
      return recordOf(await subtle.deriveKey(algorithm as never, baseKey, derived as never, true, usages as never), extractable, scope);
    }
    case "unwrapKey": {
      const [format, wrapped, unwrappingKey, unwrapAlgorithm, keyAlgorithm, extractable, usages] = args as [string, Uint8Array, Key, unknown, unknown, boolean, string[]];
      return recordOf(checked(await subtle.unwrapKey(format as never, wrapped, unwrappingKey, unwrapAlgorithm as never, keyAlgorithm as never, true, usages as never)), extractable, scope);
    }
    default:
      throw new DOMException(`crypto.subtle.${method} is not supported`, "NotSupportedError");
  }
}

/**
 * Runs one `crypto.subtle` call from the isolate's `{method, args}` JSON.
 * `scope` (the app's id) is what keys are sealed to: a key opens only in the
 * scope that made it.
 */
export async function performSubtle(arg: unknown, scope: string): Promise<SubtleAnswer> {
  if (typeof arg !== "string") return { ok: false, name: "TypeError", message: "crypto.subtle: malformed call" };
  if (arg.length > MAX_CALL_CHARS) return { ok: false, name: "QuotaExceededError", message: tooMuchData().message };
  try {
    const { method, args } = JSON.parse(arg) as { method: unknown; args: unknown };
    if (typeof method !== "string" || !Array.isArray(args)) return { ok: false, name: "TypeError", message: "crypto.subtle: malformed call" };
    const decoded = (await decode(args, { scope, keys: 0, bytes: 0 })) as unknown[];
    return { ok: true, json: JSON.stringify((await perform(method, decoded, scope)) ?? null) };
  } catch (error) {
    // node:crypto reports bad arguments as TypeError (ERR_INVALID_ARG_*), the
    // rest as DOMException names; Node 20 spells one of them "InvalidAccessException".
    const name = error instanceof Error ? error.name.replace(/Exception$/, "Error") : "OperationError";
    const message = error instanceof Error ? error.message : "the operation failed";
    return { ok: false, name: /^[A-Z][A-Za-z]*Error$/.test(name) ? name : "OperationError", message };
  }
}
