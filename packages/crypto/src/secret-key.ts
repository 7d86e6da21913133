import { createSecretKey, randomBytes, type KeyObject } from "node:crypto";
import { inspect } from "node:util";
import { CryptoError } from "./errors.ts";
import { isValidKeyId, KEY_ID_RULE } from "./key-id.ts";

/** AES-256 needs exactly this many key bytes. */
export const KEY_LENGTH = 32;

// Set once by SecretKey's static block: the only way for other modules of this
// package to reach the key material, which the public API never exposes.
let readMaterial: (key: SecretKey) => KeyObject;

/**
 * Holds 32 raw key bytes under a key id and never prints them: `util.inspect`,
 * `JSON.stringify`, `String()` and template literals all show
 * `SecretKey(<id>) [redacted]`.
 *
 * @example
 * const key = SecretKey.generate("k1");
 * console.log(key); // SecretKey(k1) [redacted]
 */
export class SecretKey {
  readonly id: string;
  // A KeyObject keeps the bytes in native memory; together with the #private
  // field this keeps them out of inspect, JSON and object spreads.
  readonly #material: KeyObject;

  static {
    readMaterial = (key) => key.#material;
  }

  private constructor(id: string, material: KeyObject) {
    this.id = id;
    this.#material = material;
  }

  /** Copies `bytes`; later changes to the caller's array do not reach the key. */
  static fromBytes(id: string, bytes: Uint8Array): SecretKey {
    assertKeyId(id);
    if (!(bytes instanceof Uint8Array) || bytes.length !== KEY_LENGTH) {
      const got = bytes instanceof Uint8Array ? `${bytes.length} bytes` : "no bytes";
      throw new CryptoError("invalid_key", `key ${id} must be exactly ${KEY_LENGTH} bytes; got ${got}`);
    }
    // createSecretKey copies into its own memory.
    return new SecretKey(id, createSecretKey(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
  }

  /** A fresh key from the operating system's CSPRNG. */
  static generate(id: string): SecretKey {
    assertKeyId(id);
    const bytes = randomBytes(KEY_LENGTH);
    const key = new SecretKey(id, createSecretKey(bytes));
    bytes.fill(0);
    return key;
  }

  /**
   * A copy of the raw bytes. Only for wrapping data keys under the master
   * keyring; zero the copy (`.fill(0)`) once it has been sealed.
   */
  exportBytes(): Buffer {
    return this.#material.export();
  }

  toString(): string {
    return `SecretKey(${this.id}) [redacted]`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** Key material for the AEAD in this package; not exported from index.ts. */
export function keyMaterial(key: SecretKey): KeyObject {
  return readMaterial(key);
}

function assertKeyId(id: string): void {
  // The rejected id is not echoed: a misplaced key could end up in its place.
  if (typeof id !== "string" || !isValidKeyId(id)) {
    throw new CryptoError("invalid_key", `key id must be ${KEY_ID_RULE}`);
  }
}
