import busboy from "busboy";
import { invalidInput, tooComplex, tooLarge } from "./errors.ts";
import type { InboundError } from "./errors.ts";
import { requireMediaType } from "./content-type.ts";
import type { InboundLimits } from "./types.ts";

/** A file part of a form post (an attachment). */
export interface FormFile {
  field: string;
  filename: string | null;
  contentType: string;
  content: Buffer;
}

/** A provider's form post: each field's raw bytes (charsets differ per field), and its files. */
export interface FormData {
  /** The first value of each field, as the bytes sent. */
  fields: Map<string, Buffer>;
  files: FormFile[];
}

const FORM_TYPES = ["multipart/form-data", "application/x-www-form-urlencoded"] as const;

/** The text of a field, UTF-8, or undefined when absent. */
export function fieldText(form: FormData, name: string): string | undefined {
  return form.fields.get(name)?.toString("utf8");
}

/**
 * Reads a form post into raw field bytes and file parts: multipart through
 * busboy, urlencoded by hand (URLSearchParams would decode the bytes of
 * `body-mime` as UTF-8 and replace what is not).
 */
export async function readForm(contentType: string, body: Buffer, limits: InboundLimits, accepted: readonly string[] = FORM_TYPES): Promise<FormData> {
  const media = requireMediaType(contentType, accepted);
  if (media.type === "application/x-www-form-urlencoded") return { fields: decodeUrlencoded(body), files: [] };
  return readMultipart(contentType, body, limits);
}

/**
 * Only the named fields of a form post, files skipped unbuffered: what a
 * signature check needs, read before anything else of the body is.
 */
export async function readFormFields(contentType: string, body: Buffer, limits: InboundLimits, names: ReadonlySet<string>): Promise<Map<string, Buffer>> {
  const media = requireMediaType(contentType, FORM_TYPES);
  if (media.type === "application/x-www-form-urlencoded") return decodeUrlencoded(body, names);
  return (await readMultipart(contentType, body, limits, names)).fields;
}

function decodeUrlencoded(body: Buffer, only?: ReadonlySet<string>): Map<string, Buffer> {
  const fields = new Map<string, Buffer>();
  for (const pair of body.toString("latin1").split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = percentDecode(eq < 0 ? pair : pair.slice(0, eq)).toString("utf8");
    if (only && !only.has(name)) continue;
    if (!fields.has(name)) fields.set(name, percentDecode(eq < 0 ? "" : pair.slice(eq + 1)));
  }
  return fields;
}

/** `+` and `%XX` to bytes; everything else is already one byte per character (read as Latin-1). */
function percentDecode(text: string): Buffer {
  const bytes = Buffer.allocUnsafe(text.length);
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x2b) bytes[length++] = 0x20;
    else if (ch === 0x25 && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes[length++] = parseInt(text.slice(i + 1, i + 3), 16);
      i += 2;
    } else bytes[length++] = ch;
  }
  return bytes.subarray(0, length);
}

/**
 * SendGrid's published samples use bare LF where multipart needs CRLF, and
 * busboy (rightly) finds no boundary in them. A body with no CRLF at all
 * cannot be a valid multipart body, so its LFs are made CRLFs; every CRLF in
 * the parsed values then came from that rewrite and is turned back, which
 * gives back the bytes that were sent.
 */
function lenientLineEndings(body: Buffer): { body: Buffer; restore: (value: Buffer) => Buffer } {
  if (body.includes("\r\n") || !body.includes("\n")) return { body, restore: (value) => value };
  const crlf = Buffer.from(body.toString("latin1").replaceAll("\n", "\r\n"), "latin1");
  return { body: crlf, restore: (value) => Buffer.from(value.toString("latin1").replaceAll("\r\n", "\n"), "latin1") };
}

function readMultipart(contentType: string, original: Buffer, limits: InboundLimits, only?: ReadonlySet<string>): Promise<FormData> {
  const { body, restore } = lenientLineEndings(original);
  const fields = new Map<string, Buffer>();
  const files: FormFile[] = [];
  return new Promise<FormData>((resolve, reject) => {
    let failed = false;
    const fail = (error: InboundError): void => {
      if (failed) return;
      failed = true;
      reject(error);
    };
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: { "content-type": contentType },
        // Latin-1 maps bytes to characters one to one, so a field's string
        // converts back to exactly the bytes sent; each provider then decodes
        // them in the charset it names (SendGrid's `charsets`).
        defCharset: "latin1",
        defParamCharset: "utf8",
        limits: { fieldSize: limits.maxBytes, fileSize: limits.maxBytes, parts: limits.maxParts },
      });
    } catch (error) {
      reject(invalidInput("multipart body has no usable boundary", { contentType }, error));
      return;
    }
    parser.on("field", (name, value, info) => {
      if (info.valueTruncated) return fail(tooLarge(original.length, limits.maxBytes));
      if (only && !only.has(name)) return;
      if (!fields.has(name)) fields.set(name, restore(Buffer.from(value, "latin1")));
    });
    parser.on("file", (name, stream, info) => {
      if (only) {
        stream.resume();
        return;
      }
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("limit", () => fail(tooLarge(original.length, limits.maxBytes)));
      stream.on("end", () => {
        files.push({ field: name, filename: info.filename ?? null, contentType: info.mimeType, content: restore(Buffer.concat(chunks)) });
      });
    });
    parser.on("partsLimit", () => fail(tooComplex(`form has more than ${limits.maxParts} parts`, { maxParts: limits.maxParts })));
    parser.on("error", (error: Error) => fail(invalidInput("multipart body could not be parsed", { reason: error.message }, error)));
    parser.on("close", () => {
      if (!failed) resolve({ fields, files });
    });
    parser.end(body);
  });
}
