import { bareAddresses } from "./addresses.ts";
import { assembleEmail, requireFrom } from "./assemble.ts";
import { AttachmentBudget } from "./attachments.ts";
import { firstHeader, formatMailbox, headerRecord } from "./headers.ts";
import type { HeaderField } from "./headers.ts";
import { objectList, optionalObject, optionalString, readJsonObject } from "./json-body.ts";
import type { JsonObject } from "./json-body.ts";
import type { EmailAttachment, InboundInput, InboundLimits, ParsedInbound } from "./types.ts";

/** `ToFull`/`CcFull` entries' addresses, or the plain `To`/`Cc` string parsed when the list is absent. */
function recipients(body: JsonObject, field: "To" | "Cc"): string[] {
  const full = objectList(body, `${field}Full`);
  if (full.length === 0) return bareAddresses(optionalString(body, field));
  return full.flatMap((entry, index) => bareAddresses(optionalString(entry, "Email", `${field}Full[${index}].Email`)));
}

function attachments(body: JsonObject, limits: InboundLimits): EmailAttachment[] {
  const budget = new AttachmentBudget(limits.maxAttachmentBytes);
  return objectList(body, "Attachments").map((entry, index) => {
    // The documented sample says `Content`; what the dashboard's Check
    // button posts (anymail's captured payloads) says `Data`.
    const base64 = optionalString(entry, "Content", `Attachments[${index}].Content`) ?? optionalString(entry, "Data", `Attachments[${index}].Data`);
    const content = base64 === undefined ? null : Buffer.from(base64, "base64");
    const declared = entry.ContentLength;
    const size = content?.length ?? (typeof declared === "number" ? declared : 0);
    return budget.add(optionalString(entry, "Name", `Attachments[${index}].Name`), optionalString(entry, "ContentType", `Attachments[${index}].ContentType`), size, content);
  });
}

/**
 * Postmark's inbound webhook JSON. The RFC Message-ID and In-Reply-To are in
 * the `Headers` list (`MessageID` is Postmark's own id); From, To, Cc,
 * Subject and Date arrive as separate fields and are added to `headers`.
 * `RawEmail` (sent when the server has "include raw email" on) becomes `raw`.
 *
 * @example
 * // POST Content-Type: application/json
 * { "FromFull": { "Email": "a@example.com", "Name": "A" }, "ToFull": [{ "Email": "in@example.com" }], "Subject": "Hi", "TextBody": "Hello", "Headers": [{ "Name": "Message-ID", "Value": "<1@example.com>" }] }
 */
export function parsePostmark(input: InboundInput, limits: InboundLimits): ParsedInbound {
  const body = readJsonObject(input);
  const fromFull = optionalObject(body, "FromFull");
  const fromAddress = optionalString(fromFull ?? {}, "Email", "FromFull.Email") ?? optionalString(body, "From");
  const from = requireFrom(fromAddress, "From");

  const fields: HeaderField[] = objectList(body, "Headers").map(
    (entry, index) => [optionalString(entry, "Name", `Headers[${index}].Name`) ?? "", optionalString(entry, "Value", `Headers[${index}].Value`) ?? ""] as const,
  );
  const named = fields.filter(([name]) => name !== "");
  const fromName = optionalString(fromFull ?? {}, "Name", "FromFull.Name") ?? optionalString(body, "FromName");
  // "" rather than absent: the event's subject is Postmark's Subject field only, never the header list's.
  const subject = optionalString(body, "Subject") ?? "";
  const headerFallbacks = {
    from: formatMailbox(fromName, from),
    to: optionalString(body, "To"),
    cc: optionalString(body, "Cc"),
    subject,
    date: optionalString(body, "Date"),
    "reply-to": optionalString(body, "ReplyTo"),
  };
  const rawEmail = optionalString(body, "RawEmail");

  return {
    email: assembleEmail({
      from,
      to: recipients(body, "To"),
      cc: recipients(body, "Cc"),
      subject,
      text: optionalString(body, "TextBody"),
      html: optionalString(body, "HtmlBody"),
      messageId: firstHeader(named, "message-id"),
      inReplyTo: firstHeader(named, "in-reply-to"),
      headers: headerRecord(named),
      headerFallbacks,
      attachments: attachments(body, limits),
      receivedAt: input.receivedAt,
    }),
    raw: rawEmail === undefined || rawEmail === "" ? null : Buffer.from(rawEmail, "utf8"),
  };
}
