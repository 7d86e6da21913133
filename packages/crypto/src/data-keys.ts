import type { Keyring } from "./keyring.ts";
import { SecretKey } from "./secret-key.ts";

/**
 * A new data key. Data keys seal secret values; the master keyring only ever
 * seals data keys, so rotating the master key re-wraps a handful of data keys
 * instead of re-encrypting every secret.
 */
export function generateDataKey(id: string): SecretKey {
  return SecretKey.generate(id);
}

/**
 * Seals a data key's bytes under the keyring's active key. `aad` should name
 * the scope and the data key id (e.g. `data-key:app/42:dk_7`), so a wrapped
 * key copied to another scope's row does not unwrap there.
 *
 * @example
 * const wrapped = wrapDataKey(keyring, dataKey, `data-key:app/42:${dataKey.id}`);
 */
export function wrapDataKey(keyring: Keyring, dataKey: SecretKey, aad: string): Buffer {
  const bytes = dataKey.exportBytes();
  try {
    return keyring.seal(bytes, aad);
  } finally {
    bytes.fill(0);
  }
}

/**
 * Opens a wrapped data key with whichever master key wrapped it and gives it
 * back under `id`. Throws `CryptoError` (`decrypt_failed`, `unknown_key_id`,
 * ...) exactly as `Keyring.open` does.
 */
export function unwrapDataKey(keyring: Keyring, id: string, wrapped: Uint8Array, aad: string): SecretKey {
  const bytes = keyring.open(wrapped, aad);
  try {
    return SecretKey.fromBytes(id, bytes);
  } finally {
    bytes.fill(0);
  }
}
