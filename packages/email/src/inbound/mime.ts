import { MailParser } from "mailparser";
import type { AttachmentStream, Headers, MailParserOptions, MessageText } from "mailparser";
import { bareAddresses } from "./addresses.ts";
import { assembleEmail } from "./assemble.ts";
import { AttachmentBudget } from "./attachments.ts";
import { invalidInput, tooComplex } from "./errors.ts";
import type { InboundError } from "./errors.ts";
import { firstHeader, headerBlock, headerRecord, parseHeaderBytes } from "./headers.ts";
import { guardMimeStructure } from "./mime-guard.ts";
import { resolveLimits } from "./types.ts";
import type { EmailAttachment, InboundEmail, InboundLimits } from "./types.ts";

/** Wall-clock budget for mailparser once the pre-scan has passed a message. */
export const MIME_PARSE_TIMEOUT_MS = 2000;

// Fed in slices so a timeout can stop the feed: at most one slice (plus the
// stream's buffer) is left for mailparser to finish after the deadline.
const FEED_CHUNK_BYTES = 16 * 1024;

function parserOptions(limits: InboundLimits): MailParserOptions {
  return {
    // `text` and `html` are what the sender wrote: no html-to-text or
    // text-to-html conversions (both cost CPU on hostile input), no linkifying.
    skipHtmlToText: true,
    skipTextToHtml: true,
    skipTextLinks: true,
    skipImageLinks: true,
    // Attachment checksums are not part of the event.
    checksumAlgo: false,
    // The splitter's own node cap, set to the same part limit: a second line
    // behind the pre-scan should some spelling ever make the scan count fewer.
    maxChildNodes: limits.maxParts,
  };
}

interface ParserOutput {
  headers: Headers | null;
  text: string;
  html: string;
  attachments: EmailAttachment[];
}

/**
 * Parses a raw RFC 822 message into the `email` event. Refuses, before any
 * parsing, a message over `maxBytes` (413) or with more than `maxParts`
 * parts or `maxDepth` levels of nesting (422); then gives mailparser two
 * seconds of wall-clock time (422 past it). `from` falls back to Sender
 * and is "" for mail with neither; a missing Subject is "".
 *
 * @example
 * const email = await parseMime(await readFile("message.eml"), new Date());
 * email.subject; // decoded to Unicode whatever the charset
 */
export async function parseMime(raw: Buffer, receivedAt: Date, limits?: Partial<InboundLimits>): Promise<InboundEmail> {
  return parseMimeWithin(raw, receivedAt, resolveLimits(limits), MIME_PARSE_TIMEOUT_MS);
}

/** `parseMime` with the timeout as a parameter, so a test can reach it. */
export async function parseMimeWithin(raw: Buffer, receivedAt: Date, limits: InboundLimits, timeoutMs: number): Promise<InboundEmail> {
  guardMimeStructure(raw, limits);
  // Headers come from the raw block, not mailparser's parsed Map: the same
  // code then builds `headers` for every provider, and values stay strings.
  const fields = parseHeaderBytes(headerBlock(raw));
  const parsed = await runMailParser(raw, parserOptions(limits), new AttachmentBudget(limits.maxAttachmentBytes), timeoutMs);
  // mailparser's Subject decoding knows more charsets (ISO-2022-JP) than iconv-lite.
  const subject = parsed.headers?.get("subject");
  return assembleEmail({
    // RFC 5322 requires From; for mail without one, Sender is the next best
    // author, and past that `from` is "" rather than a refusal of the mail.
    from: bareAddresses(firstHeader(fields, "from"))[0] ?? bareAddresses(firstHeader(fields, "sender"))[0] ?? "",
    to: bareAddresses(firstHeader(fields, "to")),
    cc: bareAddresses(firstHeader(fields, "cc")),
    subject: typeof subject === "string" ? subject : undefined,
    text: parsed.text,
    html: parsed.html,
    messageId: firstHeader(fields, "message-id"),
    inReplyTo: firstHeader(fields, "in-reply-to"),
    headers: headerRecord(fields),
    attachments: parsed.attachments,
    receivedAt,
  });
}

function runMailParser(raw: Buffer, options: MailParserOptions, budget: AttachmentBudget, timeoutMs: number): Promise<ParserOutput> {
  const parser = new MailParser(options);
  return new Promise<ParserOutput>((resolve, reject) => {
    let settled = false;
    let headers: Headers | null = null;
    let body: MessageText | null = null;
    const attachments: EmailAttachment[] = [];

    const fail = (error: InboundError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      parser.destroy();
      reject(error);
    };
    const timer = setTimeout(() => fail(tooComplex(`message took longer than ${timeoutMs} ms to parse`, { timeoutMs })), timeoutMs);

    parser.on("headers", (parsed) => {
      headers = parsed;
    });
    parser.on("data", (data: AttachmentStream | MessageText) => {
      if (data.type === "text") body = data;
      else collectAttachment(data, budget, attachments);
    });
    parser.on("error", (error: Error & { code?: string }) => {
      // mailparser's splitter reports over-long header blocks and lines as EMAXLEN.
      fail(error.code === "EMAXLEN" ? tooComplex("message structure is over mailparser's limits", { reason: error.message }) : invalidInput("message could not be parsed as MIME", undefined, error));
    });
    parser.on("end", () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const text: MessageText | null = body;
      resolve({ headers, text: text?.text ?? "", html: text?.html ?? "", attachments });
    });

    void feed(parser, raw, () => settled);
  });
}

/** Writes `raw` in slices, honouring back-pressure, and stops once the parse has settled. */
async function feed(parser: MailParser, raw: Buffer, stopped: () => boolean): Promise<void> {
  for (let offset = 0; offset < raw.length; offset += FEED_CHUNK_BYTES) {
    if (stopped()) return;
    if (!parser.write(raw.subarray(offset, offset + FEED_CHUNK_BYTES))) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          parser.off("drain", done);
          parser.off("close", done);
          resolve();
        };
        parser.on("drain", done);
        parser.on("close", done);
      });
    }
  }
  if (!stopped()) parser.end();
}

/** Reads one attachment stream, buffering its bytes only while they fit the budget. */
function collectAttachment(attachment: AttachmentStream, budget: AttachmentBudget, into: EmailAttachment[]): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let keep = true;
  attachment.content.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (keep && budget.fits(size)) chunks.push(chunk);
    else {
      keep = false;
      chunks.length = 0;
    }
  });
  attachment.content.on("end", () => {
    into.push(budget.add(attachment.filename, attachment.contentType, size, keep ? Buffer.concat(chunks, size) : null));
    attachment.release?.();
  });
}
