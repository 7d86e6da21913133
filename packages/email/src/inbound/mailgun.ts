import { bareAddresses } from "./addresses.ts";
import { assembleEmail, requireFrom } from "./assemble.ts";
import { AttachmentBudget } from "./attachments.ts";
import { invalidInput } from "./errors.ts";
import { firstHeader, headerRecord } from "./headers.ts";
import type { HeaderField } from "./headers.ts";
import { parseMime } from "./mime.ts";
import { fieldText, readForm, readFormFields } from "./multipart.ts";
import type { FormData } from "./multipart.ts";
import { resolveLimits, type InboundInput, type InboundLimits, type ParsedInbound } from "./types.ts";

/** `message-headers`: a JSON list of `[name, value]` pairs. */
function messageHeaders(form: FormData): HeaderField[] {
  const text = fieldText(form, "message-headers");
  if (text === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalidInput("message-headers is not valid JSON", { field: "message-headers", expected: "[[name, value], ...]" }, error);
  }
  if (!Array.isArray(parsed)) throw invalidInput("message-headers must be a list", { field: "message-headers", expected: "[[name, value], ...]" });
  return parsed.map((pair: unknown, index): HeaderField => {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
      throw invalidInput(`message-headers[${index}] must be a [name, value] pair of strings`, { field: `message-headers[${index}]`, expected: "[name, value]" });
    }
    return [pair[0], pair[1]];
  });
}

/** What Mailgun's signature covers, and the signature. */
export interface MailgunSignatureFields {
  timestamp: string;
  token: string;
  signature: string;
}

const SIGNATURE_FIELDS: ReadonlySet<string> = new Set(["timestamp", "token", "signature"]);

/**
 * Only Mailgun's `timestamp`, `token` and `signature` from a post, so the
 * signature is checked before the rest of the body is parsed. Throws
 * InboundError (415 not a form, 400 a field missing).
 */
export async function readMailgunSignature(input: Pick<InboundInput, "contentType" | "body">, limits?: Partial<InboundLimits>): Promise<MailgunSignatureFields> {
  return signatureFields({ fields: await readFormFields(input.contentType, input.body, resolveLimits(limits), SIGNATURE_FIELDS), files: [] });
}

function signatureFields(form: FormData): MailgunSignatureFields {
  const read = (field: string): string => {
    const value = fieldText(form, field)?.trim();
    if (!value) throw invalidInput(`${field} is required`, { field, expected: "Mailgun signature field" });
    return value;
  };
  return { timestamp: read("timestamp"), token: read("token"), signature: read("signature") };
}

/**
 * Mailgun's inbound route posts (urlencoded, or multipart when there are
 * attachments). The "store and notify"/forward fields give the parsed mail;
 * a route ending in `mime` sends `body-mime` instead, which is parsed as
 * MIME and returned as `raw`. `timestamp`, `token` and `signature` are
 * required and returned for `verifyMailgunSignature`.
 *
 * @example
 * // POST Content-Type: application/x-www-form-urlencoded
 * // recipient, sender, from, subject, body-plain, body-html, message-headers, timestamp, token, signature
 */
export async function parseMailgun(input: InboundInput, limits: InboundLimits): Promise<ParsedInbound> {
  const form = await readForm(input.contentType, input.body, limits);
  const mailgun = signatureFields(form);
  const raw = form.fields.get("body-mime");
  if (raw !== undefined) return { email: await parseMime(raw, input.receivedAt, limits), raw, mailgun };

  const fields = messageHeaders(form);
  // The message's own From wins over the envelope `sender`.
  const fromText = fieldText(form, "from") ?? firstHeader(fields, "from") ?? fieldText(form, "sender");
  const from = requireFrom(fromText, "from");
  const toText = firstHeader(fields, "to") ?? fieldText(form, "To") ?? fieldText(form, "recipient");
  const ccText = firstHeader(fields, "cc") ?? fieldText(form, "Cc");
  const subject = fieldText(form, "subject");
  const budget = new AttachmentBudget(limits.maxAttachmentBytes);

  return {
    email: assembleEmail({
      from,
      to: bareAddresses(toText),
      cc: bareAddresses(ccText),
      subject,
      text: fieldText(form, "body-plain"),
      html: fieldText(form, "body-html"),
      messageId: fieldText(form, "Message-Id") ?? firstHeader(fields, "message-id"),
      inReplyTo: fieldText(form, "In-Reply-To") ?? firstHeader(fields, "in-reply-to"),
      headers: headerRecord(fields),
      headerFallbacks: { from: fromText, to: toText, cc: ccText, subject },
      attachments: form.files.map((file) => budget.add(file.filename, file.contentType, file.content.length, file.content)),
      receivedAt: input.receivedAt,
    }),
    raw: null,
    mailgun,
  };
}
