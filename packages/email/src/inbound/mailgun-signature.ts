import { createHmac } from "node:crypto";
import { constantTimeEqual } from "@switchyard/crypto";

/** Mailgun's replay window: a signature older (or newer) than this is refused. */
export const MAILGUN_TOLERANCE_SECONDS = 300;

/**
 * Checks Mailgun's webhook signature: hex HMAC-SHA256 of `timestamp + token`
 * under the domain's HTTP webhook signing key, compared in constant time, and
 * the timestamp within `toleranceSeconds` of now either way. Remembering
 * tokens to refuse a replay inside the window is the caller's job.
 *
 * @example
 * verifyMailgunSignature({ signingKey, timestamp: form.timestamp, token: form.token, signature: form.signature }); // true or false
 */
export function verifyMailgunSignature(input: {
  signingKey: string;
  timestamp: string;
  token: string;
  signature: string;
  nowSeconds?: number;
  toleranceSeconds?: number;
}): boolean {
  if (input.signingKey === "" || !/^\d{1,12}$/.test(input.timestamp)) return false;
  const now = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(input.timestamp)) > (input.toleranceSeconds ?? MAILGUN_TOLERANCE_SECONDS)) return false;
  const expected = createHmac("sha256", input.signingKey).update(input.timestamp + input.token, "utf8").digest("hex");
  return constantTimeEqual(expected, input.signature.toLowerCase());
}
