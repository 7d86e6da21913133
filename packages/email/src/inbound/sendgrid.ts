import { bareAddresses } from "./addresses.ts";
import { assembleEmail, requireFrom } from "./assemble.ts";
import { AttachmentBudget } from "./attachments.ts";
import { decodeBytes, decodeHeaderBytes } from "./encoded-words.ts";
import { firstHeader, headerRecord, parseHeaderText } from "./headers.ts";
import { parseMime } from "./mime.ts";
import { fieldText, readForm } from "./multipart.ts";
import type { FormData } from "./multipart.ts";
import type { EmailAttachment, InboundInput, InboundLimits, ParsedInbound } from "./types.ts";

/** A JSON object of strings, or {} when absent or not JSON: these fields are SendGrid's hints, not the message. */
function jsonStrings(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * SendGrid sends each text field in the charset of the original part and
 * names it in `charsets` (`{"subject":"cp850","text":"windows-1252",...}`);
 * a field it does not name is UTF-8.
 */
function decodedField(form: FormData, charsets: Record<string, unknown>, name: string): string | undefined {
  const bytes = form.fields.get(name);
  if (bytes === undefined) return undefined;
  const charset = charsets[name];
  return decodeBytes(bytes, typeof charset === "string" ? charset : "utf-8");
}

function attachments(form: FormData, limits: InboundLimits): EmailAttachment[] {
  // `attachment-info` describes `attachment1`... by field name; the file
  // part's own filename and type win where both are given.
  const info = jsonStrings(fieldText(form, "attachment-info"));
  const budget = new AttachmentBudget(limits.maxAttachmentBytes);
  return form.files.map((file) => {
    const described = info[file.field];
    const meta = typeof described === "object" && described !== null ? (described as Record<string, unknown>) : {};
    const filename = file.filename ?? (typeof meta.filename === "string" ? meta.filename : typeof meta.name === "string" ? meta.name : null);
    const type = file.contentType !== "application/octet-stream" || typeof meta.type !== "string" ? file.contentType : meta.type;
    return budget.add(filename, type, file.content.length, file.content);
  });
}

/**
 * SendGrid Inbound Parse (multipart/form-data). In "raw" mode the `email`
 * field holds the whole message, which is parsed as MIME and returned as
 * `raw`; its form fields (subject...) are SendGrid's copies and are not
 * used. In parsed mode the fields are decoded by `charsets` and Message-ID /
 * In-Reply-To / Cc come from the `headers` field.
 *
 * @example
 * // POST Content-Type: multipart/form-data; boundary=xYzZY
 * // fields: headers, from, to, cc, subject, text, html, charsets, envelope, attachment-info, attachment1...
 */
export async function parseSendgrid(input: InboundInput, limits: InboundLimits): Promise<ParsedInbound> {
  const form = await readForm(input.contentType, input.body, limits, ["multipart/form-data"]);
  const raw = form.fields.get("email");
  if (raw !== undefined) return { email: await parseMime(raw, input.receivedAt, limits), raw };

  const charsets = jsonStrings(fieldText(form, "charsets"));
  const headerBytes = form.fields.get("headers");
  const fields = headerBytes === undefined ? [] : parseHeaderText(decodeHeaderBytes(headerBytes));
  const fromText = decodedField(form, charsets, "from") ?? firstHeader(fields, "from");
  const from = requireFrom(fromText, "from");
  const toText = decodedField(form, charsets, "to") ?? firstHeader(fields, "to");
  const ccText = decodedField(form, charsets, "cc") ?? firstHeader(fields, "cc");
  const subject = decodedField(form, charsets, "subject");

  return {
    email: assembleEmail({
      from,
      to: bareAddresses(toText),
      cc: bareAddresses(ccText),
      subject,
      text: decodedField(form, charsets, "text"),
      html: decodedField(form, charsets, "html"),
      messageId: firstHeader(fields, "message-id"),
      inReplyTo: firstHeader(fields, "in-reply-to"),
      headers: headerRecord(fields),
      headerFallbacks: { from: fromText, to: toText, cc: ccText, subject },
      attachments: attachments(form, limits),
      receivedAt: input.receivedAt,
    }),
    raw: null,
  };
}
