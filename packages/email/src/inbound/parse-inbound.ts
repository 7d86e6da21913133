import { tooLarge } from "./errors.ts";
import { parseGeneric } from "./generic.ts";
import { parseMailgun } from "./mailgun.ts";
import { requireMediaType } from "./content-type.ts";
import { parseMime } from "./mime.ts";
import { parsePostmark } from "./postmark.ts";
import { parseSendgrid } from "./sendgrid.ts";
import { resolveLimits } from "./types.ts";
import type { InboundInput, InboundLimits, InboundProvider, ParsedInbound } from "./types.ts";

/**
 * Normalises one inbound request into the `email` event. Throws
 * `InboundError`: `too_large` (413) over `maxBytes`, `unsupported_media_type`
 * (415) for a Content-Type the provider does not send, `invalid_input` (400)
 * naming the field, `too_complex` (422) for MIME past `maxParts`/`maxDepth`
 * or the parse timeout. Signatures are the caller's (Standard Webhooks, or
 * `verifyMailgunSignature` on `mailgun`).
 *
 * @example
 * const { email, raw } = await parseInbound("postmark", { contentType: req.header("content-type") ?? "", body, receivedAt: new Date() });
 */
export async function parseInbound(provider: InboundProvider, input: InboundInput, limits?: Partial<InboundLimits>): Promise<ParsedInbound> {
  const resolved = resolveLimits(limits);
  if (input.body.length > resolved.maxBytes) throw tooLarge(input.body.length, resolved.maxBytes);
  switch (provider) {
    case "generic":
      return parseGeneric(input);
    case "postmark":
      return parsePostmark(input, resolved);
    case "sendgrid":
      return parseSendgrid(input, resolved);
    case "mailgun":
      return parseMailgun(input, resolved);
    case "mime":
      requireMediaType(input.contentType, ["message/rfc822"]);
      return { email: await parseMime(input.body, input.receivedAt, resolved), raw: input.body };
  }
}
