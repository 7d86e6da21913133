import { bareAddresses, normalizeInReplyTo, normalizeMessageId } from "./addresses.ts";
import { assembleEmail } from "./assemble.ts";
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
  const messageId = optionalString(body, "message_id");
  const inReplyTo = optionalString(body, "in_reply_to");

  return {
    email: assembleEmail({
      from: from[0] as string,
      to: addressesOf(toText, "to"),
      cc: addressesOf(ccText, "cc"),
      subject,
      text: optionalString(body, "text"),
      html: optionalString(body, "html"),
      messageId,
      inReplyTo,
      // No header list comes with this body: the given strings become the
      // headers. The ids are bracketed from what was given, as the event's
      // are; bracketing an already bracketed `<a<b>` would give `<b>`.
      headers: {},
      headerFallbacks: {
        from: fromText.trim(),
        to: toText.join(", "),
        cc: ccText.join(", "),
        subject,
        "message-id": normalizeMessageId(messageId) ?? undefined,
        "in-reply-to": normalizeInReplyTo(inReplyTo) ?? undefined,
      },
      receivedAt: input.receivedAt,
    }),
    raw: null,
  };
}
