import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * A new API token: `${prefix}_` and 32 random bytes in base64url. The prefix
 * lets secret scanners and people recognise a leaked token.
 *
 * @example
 * generateToken("sy"); // "sy_3q2-...": 46 characters
 */
export function generateToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString("base64url")}`;
}

/**
 * What is stored instead of the token. A plain SHA-256 suffices: tokens carry
 * 256 random bits, so there is nothing for a slow password hash to protect.
 */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/**
 * Compares in time that does not depend on where the inputs differ. Lengths
 * are not secret (token and hash lengths are fixed), so a length mismatch
 * returns false at once.
 */
export function constantTimeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const left = typeof a === "string" ? Buffer.from(a, "utf8") : a;
  const right = typeof b === "string" ? Buffer.from(b, "utf8") : b;
  if (left.length !== right.length) return false;
  return timingSafeEqual(left, right);
}
