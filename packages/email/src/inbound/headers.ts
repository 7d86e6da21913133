import { decodeEncodedWords, decodeHeaderBytes } from "./encoded-words.ts";

/** One header field, unfolded, its name as written and its value undecoded. */
export type HeaderField = readonly [name: string, value: string];

// RFC 5322 field names: printable ASCII but the colon. Checking it drops the
// mbox "From sender date" line some stored messages start with (fixtures 04
// and 09), whose "11:28:07" would otherwise read as a header named
// "From xxxx@xxxx.com Tue May 10 11".
const FIELD_NAME = /^[!-9;-~]+$/;

/**
 * Drops the CRs a line ends with. A loop, not `/\r+$/`: that regex backtracks
 * quadratically over a long run of CRs followed by anything else.
 */
export function stripTrailingCr(line: string): string {
  let end = line.length;
  while (end > 0 && line.charCodeAt(end - 1) === 0x0d) end--;
  return end === line.length ? line : line.slice(0, end);
}

/** Splits a buffer at LF; each line keeps any CR it ended with. */
export function splitLines(buf: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (;;) {
    const lf = buf.indexOf(0x0a, start);
    if (lf < 0) break;
    lines.push(buf.subarray(start, lf));
    start = lf + 1;
  }
  if (start < buf.length) lines.push(buf.subarray(start));
  return lines;
}

/**
 * Parses header lines into fields: folded lines joined (only the line break
 * is removed, RFC 5322 section 2.2.3), lines that are not `name: value` skipped.
 */
export function parseHeaderLines(lines: readonly string[]): HeaderField[] {
  const fields: [string, string][] = [];
  let current: [string, string] | null = null;
  for (const raw of lines) {
    const line = stripTrailingCr(raw);
    if (line === "") break;
    if (line[0] === " " || line[0] === "\t") {
      if (current) current[1] += line;
      continue;
    }
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon).trimEnd() : "";
    if (!FIELD_NAME.test(name)) {
      current = null;
      continue;
    }
    current = [name, line.slice(colon + 1)];
    fields.push(current);
  }
  return fields.map(([name, value]) => [name, value.trim()] as const);
}

/** Parses a header block given as text (SendGrid's `headers` field). */
export function parseHeaderText(text: string): HeaderField[] {
  return parseHeaderLines(text.split("\n"));
}

/** The header block of a raw message: everything before the first empty line. */
export function headerBlock(raw: Buffer): Buffer {
  let start = 0;
  while (start < raw.length) {
    const lf = raw.indexOf(0x0a, start);
    const end = lf < 0 ? raw.length : lf;
    const isEmpty = end === start || (end === start + 1 && raw[start] === 0x0d);
    if (isEmpty) return raw.subarray(0, start);
    start = end + 1;
  }
  return raw;
}

/** Parses the header block of a raw message, each line decoded on its own (UTF-8, else Latin-1). */
export function parseHeaderBytes(block: Buffer): HeaderField[] {
  return parseHeaderLines(splitLines(block).map(decodeHeaderBytes));
}

/** The first value of a header, case-insensitively, or undefined. */
export function firstHeader(fields: readonly HeaderField[], name: string): string | undefined {
  const lower = name.toLowerCase();
  return fields.find(([n]) => n.toLowerCase() === lower)?.[1];
}

/**
 * The event's `headers`: lower-case names, encoded words decoded so display
 * names read as text, a repeated header's values joined with "\n" in order.
 * Built through a Map so a header named `__proto__` is just a key.
 */
export function headerRecord(fields: readonly HeaderField[]): Record<string, string> {
  const joined = new Map<string, string>();
  for (const [name, value] of fields) {
    const key = name.toLowerCase();
    const decoded = decodeEncodedWords(value);
    const previous = joined.get(key);
    joined.set(key, previous === undefined ? decoded : `${previous}\n${decoded}`);
  }
  return Object.fromEntries(joined);
}

/**
 * Adds the headers a provider gave as separate fields (Postmark, generic JSON)
 * where the header list itself lacks them; what the list has wins.
 */
export function withHeaderFallbacks(headers: Record<string, string>, fallbacks: Record<string, string | undefined>): Record<string, string> {
  const merged = new Map(Object.entries(headers));
  for (const [name, value] of Object.entries(fallbacks)) {
    if (value !== undefined && value !== "" && !merged.has(name)) merged.set(name, value);
  }
  return Object.fromEntries(merged);
}

/** `Name <address>`, the name quoted when it holds RFC 5322 specials. */
export function formatMailbox(name: string | undefined, address: string): string {
  const display = (name ?? "").trim();
  if (display === "") return address;
  const phrase = /^[\w!#$%&'*+\-/=?^`{|}~ \u0080-\uffff]+$/.test(display) ? display : `"${display.replace(/(["\\])/g, "\\$1")}"`;
  return `${phrase} <${address}>`;
}
