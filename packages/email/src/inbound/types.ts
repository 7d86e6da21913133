/** Where an inbound email came from: the shape of the request body. */
export type InboundProvider = "generic" | "postmark" | "sendgrid" | "mailgun" | "mime";

/** Every provider `parseInbound` understands, for validating trigger config. */
export const INBOUND_PROVIDERS: readonly InboundProvider[] = Object.freeze(["generic", "postmark", "sendgrid", "mailgun", "mime"]);

/** One attachment of an `email` event. */
export interface EmailAttachment {
  filename: string | null;
  content_type: string;
  /** Decoded size in bytes, known even when the content was dropped. */
  size: number;
  /** The decoded bytes in base64; null when dropped by the attachment cap. */
  content_base64: string | null;
}

/**
 * The `email` event payload (API.md, "Events"). Every provider normalises to
 * this one shape: bare addresses in `from`/`to`/`cc` (display names stay in
 * `headers`), Message-IDs with their angle brackets, "" for absent text.
 *
 * @example
 * {
 *   from: "support@postmarkapp.com", to: ["inbound@example.com"], cc: [],
 *   subject: "Hi", text: "Hello", html: "", message_id: "<a1@example.com>",
 *   in_reply_to: null, headers: { from: "Support <support@postmarkapp.com>" },
 *   attachments: [], received_at: "2026-01-01T00:00:00.000Z",
 * }
 */
export interface InboundEmail {
  from: string;
  to: string[];
  cc: string[];
  subject: string;
  text: string;
  html: string;
  message_id: string | null;
  in_reply_to: string | null;
  /** Lower-case names; a repeated header's values joined with "\n", in order. */
  headers: Record<string, string>;
  attachments: EmailAttachment[];
  /** ISO time the request arrived. */
  received_at: string;
}

/** Caps applied to one inbound request or message. */
export interface InboundLimits {
  /** Whole request / message; over it: `too_large` (413). */
  maxBytes: number;
  /** Total decoded attachment bytes kept as base64; later attachments keep their metadata only. */
  maxAttachmentBytes: number;
  /** MIME parts (entities, the root included) allowed; past it: `too_complex` (422). */
  maxParts: number;
  /** MIME nesting (multiparts and embedded messages) allowed; past it: `too_complex` (422). */
  maxDepth: number;
}

/** 25 MiB messages (SWITCHYARD_EMAIL_MAX_BYTES's default), 5 MiB of attachment content, 500 parts, 20 levels. */
export const DEFAULT_INBOUND_LIMITS: InboundLimits = Object.freeze({
  maxBytes: 25 * 1024 * 1024,
  maxAttachmentBytes: 5 * 1024 * 1024,
  maxParts: 500,
  maxDepth: 20,
});

/** What `parseInbound` gives back. */
export interface ParsedInbound {
  email: InboundEmail;
  /** The original RFC 822 message when the provider gave one (mime body, SendGrid raw mode `email`, Mailgun `body-mime`, Postmark `RawEmail`), else null. */
  raw: Buffer | null;
  /** Mailgun only: the fields its signature covers, for the caller to verify with verifyMailgunSignature. */
  mailgun?: { timestamp: string; token: string; signature: string };
}

/** The request as the HTTP layer received it. */
export interface InboundInput {
  contentType: string;
  body: Buffer;
  receivedAt: Date;
}

export function resolveLimits(limits: Partial<InboundLimits> | undefined): InboundLimits {
  const merged = { ...DEFAULT_INBOUND_LIMITS };
  for (const key of Object.keys(merged) as (keyof InboundLimits)[]) {
    const value = limits?.[key];
    if (value !== undefined) merged[key] = value;
  }
  return merged;
}
