import { randomUUID } from "node:crypto";
import type Mail from "nodemailer/lib/mailer";
import MailComposer from "nodemailer/lib/mail-composer";
import { allowedBy, parseMailboxes, type Mailbox } from "./addresses.ts";
import { EmailError } from "./errors.ts";

export type EmailKind = "text" | "html";

/** A message checked and ready for any transport. */
export interface PreparedEmail {
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  replyTo: string[];
  subject: string;
  text: string;
  html: string | null;
  /** nodemailer's message options: the transport composes the message from them, once. */
  options: Mail.Options;
  /** The built message's size in bytes, or a bound above it (see sizeBound). */
  size: number;
  messageId: string;
  /** SMTP envelope: every recipient, Bcc included. */
  envelope: { from: string; to: string[] };
}

export interface PrepareOptions {
  /** Sender when the script gives none (EMAIL_FROM, then SWITCHYARD_EMAIL_FROM). */
  defaultFrom: string | null;
  maxBytes: number;
  allowedSenders?: readonly string[] | null;
  allowedRecipients?: readonly string[] | null;
}

const MAX_RECIPIENTS = 100;
const MAX_SUBJECT = 998;

const KNOWN_FIELDS = new Set(["to", "cc", "bcc", "from", "reply_to", "subject", "text", "html"]);

function optionalString(input: Record<string, unknown>, field: string): string | null {
  const value = input[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw new EmailError("invalid_input", `${field} must be a string`);
  return value;
}

const addressesOf = (boxes: Mailbox[]) => boxes.map((b) => b.address);

// A bound above the built size: each body at its worst encoding
// (quoted-printable of all-8-bit text is 3 bytes per byte plus soft breaks),
// every header value encoded, and room for the fixed headers and MIME parts.
function sizeBound(fields: { subject: string; text: string | null; html: string | null }, addresses: Mailbox[]): number {
  const bodies = Buffer.byteLength(fields.text ?? "") + Buffer.byteLength(fields.html ?? "");
  const headers = Buffer.byteLength(fields.subject) + addresses.reduce((n, a) => n + Buffer.byteLength(a.name) + a.address.length + 4, 0);
  return Math.ceil(bodies * 3.1) + headers * 3 + 4096;
}

/**
 * Checks a script's `email.send` / `email.sendHtml` argument (API.md) and
 * answers nodemailer options with our own Message-ID and envelope. The size
 * cap is checked on the built message, but the message is only built here
 * when a cheap bound above its size does not already settle it: the
 * transport composes it anyway, and composing twice halved send throughput.
 */
export async function prepareEmail(kind: EmailKind, input: unknown, options: PrepareOptions): Promise<PreparedEmail> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new EmailError("invalid_input", "the message must be an object: { to, subject, text, ... }");
  }
  const fields = input as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((k) => !KNOWN_FIELDS.has(k));
  if (unknown.length > 0) throw new EmailError("invalid_input", `unknown field${unknown.length > 1 ? "s" : ""}: ${unknown.join(", ")}`);

  const to = parseMailboxes("to", fields.to, { required: true });
  const cc = parseMailboxes("cc", fields.cc, { required: false });
  const bcc = parseMailboxes("bcc", fields.bcc, { required: false });
  const replyTo = parseMailboxes("reply_to", fields.reply_to, { required: false });
  const fromField = fields.from ?? options.defaultFrom;
  if (fromField === null || fromField === undefined) {
    throw new EmailError("not_configured", "no sender: pass `from` or set EMAIL_FROM (app secret) or SWITCHYARD_EMAIL_FROM");
  }
  const fromBoxes = parseMailboxes("from", fromField, { required: true });
  if (fromBoxes.length !== 1) throw new EmailError("invalid_address", "from must be exactly one address");
  const from = fromBoxes[0] as Mailbox;
  const recipients = [...to, ...cc, ...bcc];
  if (recipients.length > MAX_RECIPIENTS) throw new EmailError("invalid_input", `at most ${MAX_RECIPIENTS} recipients per message`);

  const subjectRaw = optionalString(fields, "subject");
  if (subjectRaw === null) throw new EmailError("invalid_input", "subject is required");
  // A line break in the subject is folded to a space: nodemailer encodes the
  // value, and this makes doubly sure it can never end the header.
  const subject = subjectRaw.replace(/[\r\n]+/g, " ").slice(0, MAX_SUBJECT);
  const text = optionalString(fields, "text");
  const html = optionalString(fields, "html");
  if (kind === "text") {
    if (text === null) throw new EmailError("invalid_input", "text is required (email.send sends plain text; use email.sendHtml for HTML)");
    if (html !== null) throw new EmailError("invalid_input", "email.send is text only: use email.sendHtml to send html");
  } else if (html === null) {
    throw new EmailError("invalid_input", "html is required for email.sendHtml");
  }

  if (options.allowedSenders && !allowedBy(options.allowedSenders, from.address)) {
    throw new EmailError("sender_not_allowed", `sender ${from.address} is not in this app's allowed senders`);
  }
  if (options.allowedRecipients) {
    const refused = recipients.filter((r) => !allowedBy(options.allowedRecipients ?? [], r.address)).map((r) => r.address);
    if (refused.length > 0) throw new EmailError("recipient_not_allowed", `not in this app's allowed recipients: ${refused.join(", ")}`);
  }

  // Cheap bound before building: the bodies alone already exceed the cap.
  const bodyBytes = Buffer.byteLength(text ?? "") + Buffer.byteLength(html ?? "");
  if (bodyBytes > options.maxBytes) throw tooLarge(bodyBytes, options.maxBytes);

  const messageId = `<${randomUUID()}@${from.address.slice(from.address.lastIndexOf("@") + 1)}>`;
  const mailOptions: Mail.Options = {
    from,
    to,
    cc,
    bcc,
    replyTo,
    subject,
    text: text ?? undefined,
    html: html ?? undefined,
    messageId,
    envelope: { from: from.address, to: addressesOf(recipients) },
    // Scripts name no files or URLs: nodemailer must never read either.
    disableFileAccess: true,
    disableUrlAccess: true,
  };
  let size = sizeBound({ subject, text, html }, [from, ...recipients, ...replyTo]);
  if (size > options.maxBytes) {
    size = (await buildRaw(mailOptions)).length;
    if (size > options.maxBytes) throw tooLarge(size, options.maxBytes);
  }
  return {
    from: from.address,
    to: addressesOf(to),
    cc: addressesOf(cc),
    bcc: addressesOf(bcc),
    replyTo: addressesOf(replyTo),
    subject,
    text: text ?? "",
    html,
    options: mailOptions,
    size,
    messageId,
    envelope: { from: from.address, to: addressesOf(recipients) },
  };
}

/** The message as nodemailer writes it on the wire (no Bcc header). */
export function buildRaw(options: Mail.Options): Promise<Buffer> {
  return new MailComposer(options).compile().build();
}

function tooLarge(size: number, limit: number) {
  return new EmailError("too_large", `the message is ${size} bytes; the limit is ${limit}`);
}
