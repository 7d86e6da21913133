import { createHmac, randomBytes } from "node:crypto";
import { CryptoError } from "./errors.ts";
import type { Result } from "./result.ts";
import { decodeStrictBase64 } from "./strict-base64.ts";
import { constantTimeEqual } from "./tokens.ts";

// Standard Webhooks (https://www.standardwebhooks.com): secrets are
// "whsec_" + base64; the signature is HMAC-SHA256 over `${id}.${timestamp}.${body}`.
const SECRET_PREFIX = "whsec_";
const DEFAULT_TOLERANCE_SECONDS = 300;

export type WebhookVerifyError =
  | "missing_headers"
  | "invalid_timestamp"
  | "timestamp_too_old"
  | "timestamp_too_new"
  | "invalid_signature"
  | "invalid_secret";

/** The `webhook-id`, `webhook-timestamp` and `webhook-signature` header values. */
export interface WebhookHeaders {
  id?: string | null;
  timestamp?: string | null;
  signature?: string | null;
}

export interface VerifyWebhookOptions {
  /** Every secret currently accepted; more than one while rotating. */
  secrets: string[];
  headers: WebhookHeaders;
  /** The raw request body exactly as received; never a re-serialized object. */
  body: Uint8Array | string;
  /** Current time in seconds; defaults to the clock. */
  now?: number;
  /** How far the timestamp may be from `now`, either way; default 300. */
  toleranceSeconds?: number;
}

/**
 * A new signing secret: "whsec_" + base64 of 24 random bytes.
 *
 * @example
 * generateWebhookSecret(); // "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
 */
export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(24).toString("base64");
}

/**
 * The `webhook-signature` header value for a message: `v1,<base64 HMAC>`.
 * Throws `CryptoError` `invalid_key` for a secret that is not (whsec_)base64,
 * and `RangeError` for a timestamp that is not whole, non-negative seconds.
 *
 * @example
 * signWebhook(secret, "msg_123", Math.floor(Date.now() / 1000), rawBody); // "v1,g0hM9S..."
 */
export function signWebhook(secret: string, id: string, timestamp: number, body: string | Uint8Array): string {
  const key = decodeSecret(secret);
  if (key === undefined) {
    throw new CryptoError("invalid_key", "webhook secret must be whsec_ followed by non-empty base64");
  }
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new RangeError("webhook timestamp must be whole seconds since the epoch, not negative");
  }
  return `v1,${mac(key, id, String(timestamp), body)}`;
}

/**
 * Checks a Standard Webhooks message: the headers are present, the timestamp
 * is within tolerance of `now`, and at least one `v1` signature in the header
 * matches one of `secrets`. Entries of other versions are ignored.
 *
 * @example
 * const checked = verifyWebhook({
 *   secrets: [trigger.signingSecret],
 *   headers: { id: req.header("webhook-id"), timestamp: req.header("webhook-timestamp"), signature: req.header("webhook-signature") },
 *   body: new Uint8Array(await req.arrayBuffer()),
 * });
 * if (!checked.ok) return c.json({ error: { code: checked.error } }, 401);
 */
export function verifyWebhook(options: VerifyWebhookOptions): Result<{ id: string; timestamp: number }, WebhookVerifyError> {
  const keys = options.secrets.map(decodeSecret);
  // A misconfigured secret fails closed rather than being skipped: skipping
  // would hide the mistake until the remaining secret is rotated away.
  if (keys.length === 0 || keys.some((key) => key === undefined)) {
    return { ok: false, error: "invalid_secret" };
  }

  const { id, timestamp: timestampHeader, signature } = options.headers;
  if (!id || !timestampHeader || !signature) {
    return { ok: false, error: "missing_headers" };
  }

  // Digits only: "1.5", "-1", "1e9" and " 1" are not a timestamp.
  if (!/^[0-9]{1,15}$/.test(timestampHeader)) {
    return { ok: false, error: "invalid_timestamp" };
  }
  const timestamp = Number(timestampHeader);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  // The window bounds replays of a captured message.
  if (timestamp < now - tolerance) return { ok: false, error: "timestamp_too_old" };
  if (timestamp > now + tolerance) return { ok: false, error: "timestamp_too_new" };

  const candidates = signature
    .split(" ")
    .filter((entry) => entry.startsWith("v1,"))
    .map((entry) => entry.slice("v1,".length));
  for (const key of keys) {
    if (key === undefined) continue;
    // Signed over the timestamp header exactly as sent, and the body's raw bytes.
    const expected = mac(key, id, timestampHeader, options.body);
    if (candidates.some((candidate) => constantTimeEqual(candidate, expected))) {
      return { ok: true, value: { id, timestamp } };
    }
  }
  return { ok: false, error: "invalid_signature" };
}

function mac(key: Buffer, id: string, timestamp: string, body: string | Uint8Array): string {
  const hmac = createHmac("sha256", key).update(`${id}.${timestamp}.`, "utf8");
  if (typeof body === "string") hmac.update(body, "utf8");
  else hmac.update(body);
  return hmac.digest("base64");
}

function decodeSecret(secret: string): Buffer | undefined {
  if (typeof secret !== "string") return undefined;
  // The prefix is optional, as in every Standard Webhooks library.
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  // Not canonical: other implementations accept stray trailing bits, and a
  // secret they accept must sign the same here.
  const decoded = decodeStrictBase64(encoded);
  return decoded.ok && decoded.value.length > 0 ? decoded.value : undefined;
}
