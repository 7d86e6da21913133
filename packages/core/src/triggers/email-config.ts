import { z } from "zod";
import type { TriggerSigning } from "./signing.ts";

export const EMAIL_PROVIDERS = ["generic", "postmark", "sendgrid", "mailgun", "mime"] as const;
export type EmailProvider = (typeof EMAIL_PROVIDERS)[number];

/** An email trigger signs with Standard Webhooks, Mailgun's HMAC, or not at all. */
export type EmailSigning = TriggerSigning;

/** The largest per-trigger body cap a config may name; the operator's SWITCHYARD_EMAIL_MAX_BYTES still bounds it. */
export const EMAIL_TRIGGER_MAX_BODY_BYTES = 1024 * 1024 * 1024;

/** The config as an API caller writes it; `mailgun_signing_key` is write-only. */
export const emailConfigInput = z.strictObject({
  provider: z.enum(EMAIL_PROVIDERS),
  // Default on: only Postmark and SendGrid, which cannot sign this way,
  // default to off (their URL is the credential; put a signing relay in
  // front for more).
  signing: z.boolean().optional(),
  mailgun_signing_key: z.string().min(8).max(512).optional(),
  rate_limit_per_minute: z.number().int().min(1).max(1_000_000).default(600),
  // This trigger's own cap; absent, the operator's SWITCHYARD_EMAIL_MAX_BYTES.
  max_body_bytes: z.number().int().min(1024).max(EMAIL_TRIGGER_MAX_BODY_BYTES).optional(),
  // An action, not a setting: a new `whsec_` secret, shown once; the old one
  // keeps working for ROTATION_GRACE_MS so senders can switch without a gap.
  rotate_signing_secret: z.boolean().optional(),
});

/** The config as stored and shown: no secret in it. */
export interface EmailConfig {
  provider: EmailProvider;
  signing: EmailSigning;
  rate_limit_per_minute: number;
  max_body_bytes?: number;
}
