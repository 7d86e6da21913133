import { randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { open, seal, sealedKeyId } from "./aead.ts";
import { CryptoError } from "./errors.ts";
import { KEY_LENGTH, type SecretKey } from "./secret-key.ts";

/**
 * The master keys. The first (active) key seals; every key opens, so blobs
 * sealed before a rotation stay readable. Each blob names its key in its
 * header, which is how `open` picks the key without trial decryption.
 *
 * @example
 * const keyring = Keyring.fromKeys([SecretKey.generate("k2"), oldKey]);
 * const sealed = keyring.seal(bytes, "data-key:app/42");  // under k2
 * keyring.open(sealedUnderOldKey, "data-key:app/7");      // still opens
 */
export class Keyring {
  readonly activeId: string;
  readonly ids: readonly string[];
  readonly #active: SecretKey;
  readonly #keys: ReadonlyMap<string, SecretKey>;

  private constructor(active: SecretKey, keys: ReadonlyMap<string, SecretKey>) {
    this.#active = active;
    this.#keys = keys;
    this.activeId = active.id;
    this.ids = Object.freeze([...keys.keys()]);
  }

  /** The first key is the active one. Throws `invalid_key` on no keys or a repeated id. */
  static fromKeys(keys: SecretKey[]): Keyring {
    const [active] = keys;
    if (active === undefined) {
      throw new CryptoError("invalid_key", "a keyring needs at least one key");
    }
    const byId = new Map<string, SecretKey>();
    for (const key of keys) {
      // Two keys under one id would make "the key named in the blob" ambiguous.
      if (byId.has(key.id)) {
        throw new CryptoError("invalid_key", `key id ${key.id} appears more than once in the keyring`);
      }
      byId.set(key.id, key);
    }
    return new Keyring(active, byId);
  }

  has(id: string): boolean {
    return this.#keys.has(id);
  }

  /** Seals with the active key. */
  seal(plaintext: Uint8Array, aad: string | Uint8Array): Buffer {
    return seal(this.#active, plaintext, aad);
  }

  /** Opens with whichever key the blob names; `unknown_key_id` if it is not in the keyring. */
  open(sealed: Uint8Array, aad: string | Uint8Array): Buffer {
    const id = sealedKeyId(sealed);
    const key = this.#keys.get(id);
    if (key === undefined) {
      throw new CryptoError(
        "unknown_key_id",
        `ciphertext was sealed with key ${id}, which is not in the keyring (it has ${this.ids.join(", ")})`,
      );
    }
    return open(key, sealed, aad);
  }

  toString(): string {
    return `Keyring(active ${this.activeId}; ids ${this.ids.join(", ")})`;
  }

  toJSON(): { activeId: string; ids: readonly string[] } {
    return { activeId: this.activeId, ids: this.ids };
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * A new master key for `SWITCHYARD_MASTER_KEY` or an entry of
 * `SWITCHYARD_MASTER_KEYS`: standard base64 of 32 random bytes.
 *
 * @example
 * generateMasterKey(); // "q3V0...=" (44 characters)
 */
export function generateMasterKey(): string {
  return randomBytes(KEY_LENGTH).toString("base64");
}
