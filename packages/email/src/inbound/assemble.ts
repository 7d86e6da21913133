import { bareAddresses, normalizeInReplyTo, normalizeMessageId } from "./addresses.ts";
import { invalidInput } from "./errors.ts";
import { withHeaderFallbacks } from "./headers.ts";
import type { EmailAttachment, InboundEmail } from "./types.ts";

/** What a provider read from its request, before the event's defaults and normalisation. */
export interface EmailParts {
  /** The bare sender address; whether it may be "" is the provider's rule (see `requireFrom`). */
  from: string;
  /** Bare addresses, already checked or parsed as the provider's format needs. */
  to: string[];
  cc: string[];
  /** Absent: the Subject header, then "". A provider whose subject must not come from the header list passes "" itself. */
  subject?: string | undefined;
  text?: string | undefined;
  html?: string | undefined;
  /** As given; bracketed here, so every provider's ids read alike. */
  messageId?: string | undefined;
  inReplyTo?: string | undefined;
  /** The event's `headers`, from the message's own header list. */
  headers: Record<string, string>;
  /** Headers the provider gave as separate fields, kept only where `headers` lacks them. */
  headerFallbacks?: Record<string, string | undefined>;
  attachments?: EmailAttachment[];
  receivedAt: Date;
}

/**
 * Builds the `email` event from what a provider read, so the defaults ("" for
 * absent text, [] for no attachments), the Message-ID brackets and the
 * received time are decided in one place for all five providers.
 *
 * @example
 * assembleEmail({ from: "a@example.com", to: ["in@example.com"], cc: [], headers: { subject: "Hi" }, receivedAt: new Date() }).subject; // "Hi"
 */
export function assembleEmail(parts: EmailParts): InboundEmail {
  return {
    from: parts.from,
    to: parts.to,
    cc: parts.cc,
    subject: parts.subject ?? parts.headers.subject ?? "",
    text: parts.text ?? "",
    html: parts.html ?? "",
    message_id: normalizeMessageId(parts.messageId),
    in_reply_to: normalizeInReplyTo(parts.inReplyTo),
    headers: parts.headerFallbacks === undefined ? parts.headers : withHeaderFallbacks(parts.headers, parts.headerFallbacks),
    attachments: parts.attachments ?? [],
    received_at: parts.receivedAt.toISOString(),
  };
}

/** The first bare address of a From text; 400 naming `field` when there is none, for the providers whose posts must name a sender. */
export function requireFrom(text: string | undefined, field: string): string {
  const from = bareAddresses(text)[0];
  if (from === undefined) throw invalidInput(`${field} is required`, { field, expected: "email address" });
  return from;
}
