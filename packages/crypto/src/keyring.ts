import { randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { sealedKeyId } from "./aead.ts";
import { CryptoError } from "./errors.ts";
import { environmentKey, type KeyEncryptionProvider } from "./key-encryption.ts";
import { KEY_LENGTH, type SecretKey } from "./secret-key.ts";

/**
 * The master keys, each behind its provider (environment, PKCS#11, ...). The
 * first (active) key wraps; every key unwraps, so blobs wrapped before a
 * rotation, or by another provider during a migration, stay readable. Each
 * blob names its key in its header, which is how `unwrap` picks the key
 * without trial decryption.
 *
 * @example
 * const keyring = Keyring.fromKeys([SecretKey.generate("k2"), oldKey]);
 * const wrapped = await keyring.wrap(bytes, "data-key:app/42");   // under k2
 * await keyring.unwrap(wrappedUnderOldKey, "data-key:app/7");     // still opens
 */
export class Keyring {
  readonly activeId: string;
  readonly ids: readonly string[];
  readonly #active: KeyEncryptionProvider;
  readonly #keys: ReadonlyMap<string, KeyEncryptionProvider>;

  private constructor(active: KeyEncryptionProvider, keys: ReadonlyMap<string, KeyEncryptionProvider>) {
    this.#active = active;
    this.#keys = keys;
    this.activeId = active.id;
    this.ids = Object.freeze([...keys.keys()]);
  }

  /** Environment keys; the first is the active one. Throws `invalid_key` on no keys or a repeated id. */
  static fromKeys(keys: SecretKey[]): Keyring {
    return Keyring.fromProviders(keys.map(environmentKey));
  }

  /** Keys of any providers; the first is the active one. Throws `invalid_key` on none or a repeated id. */
  static fromProviders(providers: readonly KeyEncryptionProvider[]): Keyring {
    const [active] = providers;
    if (active === undefined) {
      throw new CryptoError("invalid_key", "a keyring needs at least one key");
    }
    const byId = new Map<string, KeyEncryptionProvider>();
    for (const provider of providers) {
      // Two keys under one id would make "the key named in the blob" ambiguous.
      if (byId.has(provider.id)) {
        throw new CryptoError("invalid_key", `key id ${provider.id} appears more than once in the keyring`);
      }
      byId.set(provider.id, provider);
    }
    return new Keyring(active, byId);
  }

  /** The same keys with `id` wrapping (`switchyard keys rotate --to`); `unknown_key_id` if it is not here. */
  withActive(id: string): Keyring {
    const active = this.#keys.get(id);
    if (active === undefined) throw this.#unknown(id);
    return Keyring.fromProviders([active, ...[...this.#keys.values()].filter((k) => k.id !== id)]);
  }

  /** Every key, the active one first: to build a keyring from several sources. */
  get providers(): readonly KeyEncryptionProvider[] {
    return [...this.#keys.values()];
  }

  has(id: string): boolean {
    return this.#keys.has(id);
  }

  /** The provider kind holding key `id` (`environment`, `pkcs11`, ...), or undefined. */
  kindOf(id: string): string | undefined {
    return this.#keys.get(id)?.kind;
  }

  /** Wraps with the active key. */
  wrap(plaintext: Uint8Array, aad: string | Uint8Array): Promise<Buffer> {
    return this.#active.wrap(plaintext, aadBytes(aad));
  }

  /** Unwraps with whichever key the blob names; `unknown_key_id` if it is not in the keyring. */
  async unwrap(wrapped: Uint8Array, aad: string | Uint8Array): Promise<Buffer> {
    const id = sealedKeyId(wrapped);
    const key = this.#keys.get(id);
    if (key === undefined) throw this.#unknown(id);
    return key.unwrap(wrapped, aadBytes(aad));
  }

  #unknown(id: string): CryptoError {
    return new CryptoError(
      "unknown_key_id",
      `ciphertext was sealed with key ${id}, which is not in the keyring (it has ${this.ids.join(", ")})`,
    );
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

function aadBytes(aad: string | Uint8Array): Buffer {
  // An empty string stays empty here: seal refuses it with aad_required.
  return typeof aad === "string" ? Buffer.from(aad, "utf8") : Buffer.from(aad.buffer, aad.byteOffset, aad.byteLength);
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
