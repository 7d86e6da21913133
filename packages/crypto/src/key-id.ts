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
