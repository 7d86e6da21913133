import { bareAddresses, normalizeInReplyTo, normalizeMessageId } from "./addresses.ts";
import { invalidInput } from "./errors.ts";
import { optionalString, readJsonObject, requiredString, stringOrList } from "./json-body.ts";
import type { InboundInput, ParsedInbound } from "./types.ts";

function addressesOf(values: readonly string[], field: string): string[] {
  return values.flatMap((value, index) => {
    const found = bareAddresses(value);
    if (found.length === 0) throw invalidInput(`${field}[${index}] is not an email address`, { field: `${field}[${index}]`, expected: "email address" });
    return found;
  });
}

/**
 * API.md's generic inbound JSON: `{from, to[], cc[], subject, text, html,
 * message_id}`, `from` required, `to`/`cc` a string or a list. Also reads
 * `in_reply_to`, which the event has and a caller may know. Unknown keys are
 * ignored. The given strings become `headers`, so display names stay visible.
 *
 * @example
 * // POST Content-Type: application/json
 * { "from": "Ada <ada@example.com>", "to": "ops@example.com", "subject": "Hi", "text": "Hello" }
 */
export function parseGeneric(input: InboundInput): ParsedInbound {
  const body = readJsonObject(input);
  const fromText = requiredString(body, "from");
  const from = bareAddresses(fromText);
  if (from.length !== 1) throw invalidInput("from must be exactly one email address", { field: "from", expected: "email address" });
  const toText = stringOrList(body, "to");
  const ccText = stringOrList(body, "cc");
  const subject = optionalString(body, "subject") ?? "";
  const messageId = normalizeMessageId(optionalString(body, "message_id"));
  const inReplyTo = normalizeInReplyTo(optionalString(body, "in_reply_to"));

  const headers = new Map<string, string>([["from", fromText.trim()]]);
  if (toText.length > 0) headers.set("to", toText.join(", "));
  if (ccText.length > 0) headers.set("cc", ccText.join(", "));
  if (subject !== "") headers.set("subject", subject);
  if (messageId !== null) headers.set("message-id", messageId);
  if (inReplyTo !== null) headers.set("in-reply-to", inReplyTo);

  return {
    email: {
      from: from[0] as string,
      to: addressesOf(toText, "to"),
      cc: addressesOf(ccText, "cc"),
      subject,
      text: optionalString(body, "text") ?? "",
      html: optionalString(body, "html") ?? "",
      message_id: messageId,
      in_reply_to: inReplyTo,
      headers: Object.fromEntries(headers),
      attachments: [],
      received_at: input.receivedAt.toISOString(),
    },
    raw: null,
  };
}
