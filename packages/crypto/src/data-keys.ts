import type { Keyring } from "./keyring.ts";
import { SecretKey } from "./secret-key.ts";

/**
 * A new data key. Data keys seal secret values; the master keyring only ever
 * wraps data keys, so rotating the master key re-wraps a handful of data keys
 * instead of re-encrypting every secret.
 */
export function generateDataKey(id: string): SecretKey {
  return SecretKey.generate(id);
}

/**
 * Wraps a data key's bytes under the keyring's active key (wherever that key
 * lives: the environment, an HSM). `aad` should name the scope and the data
 * key id (e.g. `data-key:app/42:dk_7`), so a wrapped key copied to another
 * scope's row does not unwrap there.
 *
 * @example
 * const wrapped = await wrapDataKey(keyring, dataKey, `data-key:app/42:${dataKey.id}`);
 */
export async function wrapDataKey(keyring: Keyring, dataKey: SecretKey, aad: string): Promise<Buffer> {
  const bytes = dataKey.exportBytes();
  try {
    return await keyring.wrap(bytes, aad);
  } finally {
    bytes.fill(0);
  }
}

/**
 * Unwraps a data key with whichever master key wrapped it and gives it back
 * under `id`. Rejects with `CryptoError` (`decrypt_failed`, `unknown_key_id`,
 * `provider_failed`, ...) exactly as `Keyring.unwrap` does.
 */
export async function unwrapDataKey(keyring: Keyring, id: string, wrapped: Uint8Array, aad: string): Promise<SecretKey> {
  const bytes = await keyring.unwrap(wrapped, aad);
  try {
    return SecretKey.fromBytes(id, bytes);
  } finally {
    bytes.fill(0);
  }
}
