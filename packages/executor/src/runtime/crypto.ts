/**
 * `crypto.getRandomValues`, `crypto.randomUUID` and the `crypto` object,
 * INSIDE the isolate. Entropy comes from the host (node:crypto's CSPRNG) in
 * blocks, through a synchronous call, because these two are synchronous;
 * the block is spent front to back and never handed out twice.
 */
import { host } from "./bridge.ts";
import { DOMException } from "./dom-exception.ts";
import type * as Subtle from "./subtle.ts";

declare const require: (id: string) => unknown;

/** Bytes fetched from the host per refill: one crossing serves 256 UUIDs. */
const BLOCK = 4096;
/**
 * The first refill of a context is small: copying 4 KB in costs a fresh
 * context ~80 µs (the loop runs cold), and most runs draw a UUID or two.
 */
const FIRST_BLOCK = 64;
/** The Web Crypto API's cap on one `getRandomValues` call. */
const MAX_BYTES = 65_536;

let pool = new Uint8Array(0);
let used = 0;
let block = FIRST_BLOCK;

function take(n: number, into: Uint8Array): void {
  let filled = 0;
  while (filled < n) {
    if (used === pool.length) {
      refill(Math.max(block, n - filled));
      block = BLOCK;
    }
    const count = Math.min(n - filled, pool.length - used);
    into.set(pool.subarray(used, used + count), filled);
    // Spent bytes are wiped: nothing in the context can read them twice.
    pool.fill(0, used, used + count);
    used += count;
    filled += count;
  }
}

function refill(size: number): void {
  const text = host().callSync("random", String(size));
  if (typeof text !== "string" || text.length !== size) throw new DOMException("crypto: the platform could not supply random bytes", "OperationError");
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = text.charCodeAt(i);
  pool = bytes;
  used = 0;
}

const INTEGER_ARRAYS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array];

/** Fills an integer typed array with random values and answers it. */
export function getRandomValues<T extends ArrayBufferView>(array: T): T {
  if (!INTEGER_ARRAYS.some((Ctor) => array instanceof Ctor)) {
    throw new DOMException("getRandomValues: the argument must be an integer typed array", "TypeMismatchError");
  }
  if (array.byteLength > MAX_BYTES) {
    throw new DOMException(`getRandomValues: ${array.byteLength} bytes asked for, more than ${MAX_BYTES}`, "QuotaExceededError");
  }
  take(array.byteLength, new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  return array;
}

// Two digits a byte, without a 256-entry table: building one cost a fresh context ~20 µs, more than its UUIDs.
const DIGITS = "0123456789abcdef";

/** A random (version 4) UUID, lower case. */
export function randomUUID(): string {
  const b = new Uint8Array(16);
  take(16, b);
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = (i: number) => {
    const byte = b[i] as number;
    return (DIGITS[byte >> 4] as string) + (DIGITS[byte & 15] as string);
  };
  return h(0) + h(1) + h(2) + h(3) + "-" + h(4) + h(5) + "-" + h(6) + h(7) + "-" + h(8) + h(9) + "-" + h(10) + h(11) + h(12) + h(13) + h(14) + h(15);
}

let constructing = false;

/** The `crypto` global's class. */
export class Crypto {
  // Made on first use: the subtle module costs a context ~30 µs to evaluate, and most scripts only draw UUIDs.
  #subtle: Subtle.SubtleCrypto | null = null;
  constructor() {
    if (!constructing) throw new TypeError("Illegal constructor");
  }
  get subtle(): Subtle.SubtleCrypto {
    this.#subtle ??= (require("./subtle.ts") as typeof Subtle).createSubtle();
    return this.#subtle;
  }
  getRandomValues<T extends ArrayBufferView>(array: T): T {
    return getRandomValues(array);
  }
  randomUUID(): string {
    return randomUUID();
  }
}

/** The one instance, for the `crypto` global. */
export function createCrypto(): Crypto {
  constructing = true;
  try {
    return new Crypto();
  } finally {
    constructing = false;
  }
}
