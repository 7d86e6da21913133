/**
 * Why a PKCS#11 token could not be used. Each refusal at start has its own
 * code and a message naming the setting to fix; messages never carry the PIN.
 */
export type Pkcs11ErrorCode =
  | "module_not_found"
  | "module_unusable"
  | "token_not_found"
  | "pin_incorrect"
  | "pin_locked"
  | "login_failed"
  | "key_not_found"
  | "key_ambiguous"
  | "key_unusable"
  | "invalid_options";

export class Pkcs11Error extends Error {
  override readonly name = "Pkcs11Error";
  readonly code: Pkcs11ErrorCode;

  constructor(code: Pkcs11ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The CKR_* name of a pkcs11js error (`CKR_PIN_INCORRECT`), or its message. */
export function ckr(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
