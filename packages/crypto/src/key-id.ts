const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Most a key id can take in the one-byte length field of a sealed header. */
export const MAX_KEY_ID_LENGTH = 64;

/** How a key id must look, for error messages. */
export const KEY_ID_RULE = "1-64 characters of A-Z a-z 0-9 _ -";

/**
 * Key ids travel in ciphertext headers, error messages, logs and the
 * `id:base64,...` keyring syntax, so they are limited to ASCII characters that
 * are safe in all of those places (no `:`, `,`, spaces or control bytes).
 */
export function isValidKeyId(id: string): boolean {
  return KEY_ID.test(id);
}

// A provider's key: a lowercase provider name, a colon, then the provider's
// own name for the key (e.g. `pkcs11:switchyard-master-2`). The colon keeps
// them apart from environment keys, whose ids can never contain one.
const PROVIDER_KEY_ID = /^[a-z][a-z0-9]{0,15}:[A-Za-z0-9_.-]+$/;

/**
 * The id in a wrapped blob's header: an environment key's id (`k1`) or a
 * provider's `<provider>:<key name>`, at most 64 characters either way.
 */
export function isValidWrappingKeyId(id: string): boolean {
  return isValidKeyId(id) || (id.length <= MAX_KEY_ID_LENGTH && PROVIDER_KEY_ID.test(id));
}
