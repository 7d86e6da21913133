import { z } from "zod";

export const EMAIL_PROVIDERS = ["generic", "postmark", "sendgrid", "mailgun", "mime"] as const;
export type EmailProvider = (typeof EMAIL_PROVIDERS)[number];

/**
 * How an email trigger checks who is calling: Standard Webhooks headers
 * (`whsec_` secret we generate), Mailgun's own HMAC (the operator's Mailgun
 * signing key), or nothing but the unguessable URL.
 */
export type EmailSigning = "standard_webhooks" | "mailgun" | "none";

/** The config as an API caller writes it; `mailgun_signing_key` is write-only. */
export const emailConfigInput = z.strictObject({
  provider: z.enum(EMAIL_PROVIDERS),
  // Default on: only Postmark and SendGrid, which cannot sign this way,
  // default to off (their URL is the credential; put a signing relay in
  // front for more).
  signing: z.boolean().optional(),
  mailgun_signing_key: z.string().min(8).max(512).optional(),
  rate_limit_per_minute: z.number().int().min(1).max(1_000_000).default(600),
  // An action, not a setting: a new `whsec_` secret, shown once; the old one
  // keeps working for ROTATION_GRACE_MS so senders can switch without a gap.
  rotate_signing_secret: z.boolean().optional(),
});

/** How long a rotated-out signing secret is still accepted (as Svix does: a day). */
export const ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;

/** The config as stored and shown: no secret in it. */
export interface EmailConfig {
  provider: EmailProvider;
  signing: EmailSigning;
  rate_limit_per_minute: number;
}

export interface EmailTriggerSecret {
  /** What to seal and store in `secret_sealed`; null for unsigned triggers. */
  value: string | null;
  /** Shown to the caller once (a generated `whsec_`), never a key they gave us. */
  reveal: boolean;
}

/** Associated data binding a trigger's sealed secret to that trigger. */
export const triggerSecretAad = (triggerId: string) => `switchyard/trigger-secret/v1|${triggerId}`;
