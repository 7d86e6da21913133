import { open, seal } from "./aead.ts";
import type { SecretKey } from "./secret-key.ts";

/**
 * Where a master key (a key-encryption key) lives and how data keys are
 * wrapped under it. One object is one key: the environment keyring gives one
 * per `SWITCHYARD_MASTER_KEYS` entry, a PKCS#11 token one per key label.
 *
 * Invariants every implementation keeps (packages/crypto/README.md):
 * - `id` names the provider and the key. It is written into every blob's
 *   header (`sealedKeyId`) and into `data_keys.master_key_id`, which is how
 *   `unwrap` finds the right provider and key years later. Environment keys
 *   keep their bare ids (`k1`); other providers use `<provider>:<key name>`.
 * - `wrap` authenticates `aad`; `unwrap` with other `aad`, another key, or an
 *   altered blob fails with `CryptoError` `decrypt_failed`, never a wrong key.
 * - A key that lives outside the process (HSM, KMS) never leaves it: `wrap`
 *   and `unwrap` send the data key in and take the result back.
 * - Both are async so a network KMS fits; in-process providers resolve at once.
 *
 * @example
 * const kek = environmentKey(SecretKey.generate("k1"));
 * const wrapped = await kek.wrap(dataKeyBytes, Buffer.from("switchyard/data-key/v1|dk_1|app|app_1"));
 */
export interface KeyEncryptionProvider {
  readonly id: string;
  /** What holds the key, for messages and summaries: `environment`, `pkcs11`, ... */
  readonly kind: string;
  wrap(plaintext: Uint8Array, aad: Uint8Array): Promise<Buffer>;
  unwrap(wrapped: Uint8Array, aad: Uint8Array): Promise<Buffer>;
}

/**
 * A master key from the environment (`SWITCHYARD_MASTER_KEY(S)`) as a
 * provider: AES-256-GCM in this process, in {@link seal}'s format, exactly as
 * before providers existed, so existing databases keep opening.
 */
export function environmentKey(key: SecretKey): KeyEncryptionProvider {
  return {
    id: key.id,
    kind: "environment",
    wrap: async (plaintext, aad) => seal(key, plaintext, aad),
    unwrap: async (wrapped, aad) => open(key, wrapped, aad),
  };
}
