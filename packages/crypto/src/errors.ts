/**
 * Stable codes for everything `seal`, `open` and key handling can refuse.
 * Callers classify by `code`, never by message text.
 */
export type CryptoErrorCode =
  | "aad_required"
  | "decrypt_failed"
  | "unknown_key_id"
  | "malformed_ciphertext"
  | "invalid_key"
  | "provider_failed";

/**
 * Thrown by the crypto primitives. Messages describe what was wrong in terms
 * of lengths, positions and key ids only: never key bytes, never plaintext, so
 * an error can be logged or returned to an API client as it is.
 */
export class CryptoError extends Error {
  override readonly name = "CryptoError";
  readonly code: CryptoErrorCode;

  constructor(code: CryptoErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
