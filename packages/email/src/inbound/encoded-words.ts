import iconv from "iconv-lite";

/**
 * Decodes bytes in a named charset to Unicode; an unknown charset falls back to
 * UTF-8 (the replacement character marks what could not be read) rather than
 * refusing the mail. UTF-7 is decoded as UTF-8 on purpose, as mailparser does:
 * decoding it turns `+ADw-script+AD4-` into markup.
 */
export function decodeBytes(bytes: Buffer, charset: string | null | undefined): string {
  const name = (charset ?? "").trim().toLowerCase();
  if (name === "" || name === "utf-8" || name === "utf8" || /^(unicode-1-1-)?utf-?7/.test(name) || !iconv.encodingExists(name)) {
    return bytes.toString("utf8");
  }
  return iconv.decode(bytes, name);
}

/**
 * Header bytes to text: UTF-8 when they are valid UTF-8 (RFC 6532 headers,
 * fixture 04's raw emoji Subject), otherwise Latin-1, which maps every byte to
 * a character and so never loses one.
 */
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

export function decodeHeaderBytes(bytes: Buffer): string {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    return bytes.toString("latin1");
  }
}

// =?charset[*lang]?B|Q?payload?= (RFC 2047, RFC 2231 section 5 language suffix).
const ENCODED_WORD = /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=/g;

interface Word {
  start: number;
  end: number;
  charset: string;
  bytes: Buffer;
}

function wordBytes(encoding: string, payload: string): Buffer {
  if (encoding === "b" || encoding === "B") return Buffer.from(payload, "base64");
  const bytes: number[] = [];
  for (let i = 0; i < payload.length; i++) {
    const ch = payload[i];
    if (ch === "_") bytes.push(0x20);
    else if (ch === "=" && /^[0-9a-fA-F]{2}$/.test(payload.slice(i + 1, i + 3))) {
      bytes.push(parseInt(payload.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(payload.charCodeAt(i) & 0xff);
  }
  return Buffer.from(bytes);
}

/**
 * Decodes RFC 2047 encoded words in a header value. Adjacent words in one
 * charset are joined as bytes before decoding, because senders split a
 * multi-byte character across two words (fixture 06's Subject is two words);
 * the whitespace between adjacent words is dropped, as RFC 2047 section 6.2 says.
 *
 * @example
 * decodeEncodedWords("=?cp850?q?Como_usted_pidi=A2?="); // "Como usted pidió"
 */
export function decodeEncodedWords(value: string): string {
  if (!value.includes("=?")) return value;
  const words: Word[] = [];
  for (const match of value.matchAll(ENCODED_WORD)) {
    const [whole, charset = "", encoding = "", payload = ""] = match;
    words.push({ start: match.index, end: match.index + whole.length, charset: charset.toLowerCase(), bytes: wordBytes(encoding, payload) });
  }
  if (words.length === 0) return value;
  let out = "";
  let cursor = 0;
  for (let i = 0; i < words.length; ) {
    const first = words[i] as Word;
    const run: Buffer[] = [first.bytes];
    let last = first;
    let j = i + 1;
    for (; j < words.length; j++) {
      const next = words[j] as Word;
      if (next.charset !== first.charset || value.slice(last.end, next.start).trim() !== "") break;
      run.push(next.bytes);
      last = next;
    }
    const gap = value.slice(cursor, first.start);
    // Whitespace between two encoded words (here: two runs in different charsets) is dropped too.
    if (!(i > 0 && gap.trim() === "")) out += gap;
    out += decodeBytes(Buffer.concat(run), first.charset);
    cursor = last.end;
    i = j;
  }
  return out + value.slice(cursor);
}
