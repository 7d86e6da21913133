/**
 * `TextEncoder` and `TextDecoder` (the Encoding Standard, UTF-8 only, as the
 * Minimum Common API asks), INSIDE the isolate. The decoder is the
 * standard's UTF-8 decoder: invalid sequences become U+FFFD (or throw with
 * `fatal`), state carries across `decode(chunk, { stream: true })`.
 */
import { toBytes } from "./bytes.ts";

/** UTF-8 bytes of `text`; lone surrogates become U+FFFD, as USVString conversion does. */
export function utf8Encode(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 3);
  const written = encodeInto(text, out).written;
  return out.slice(0, written);
}

function encodeInto(text: string, dest: Uint8Array): { read: number; written: number } {
  let read = 0;
  let written = 0;
  const n = text.length;
  const room = dest.length;
  while (read < n) {
    let c = text.charCodeAt(read);
    let units = 1;
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = read + 1 < n ? text.charCodeAt(read + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        units = 2;
      } else {
        c = 0xfffd;
      }
    }
    if (c < 0x80) {
      if (written + 1 > room) break;
      dest[written++] = c;
    } else if (c < 0x800) {
      if (written + 2 > room) break;
      dest[written++] = 0xc0 | (c >> 6);
      dest[written++] = 0x80 | (c & 63);
    } else if (c < 0x10000) {
      if (written + 3 > room) break;
      dest[written++] = 0xe0 | (c >> 12);
      dest[written++] = 0x80 | ((c >> 6) & 63);
      dest[written++] = 0x80 | (c & 63);
    } else {
      if (written + 4 > room) break;
      dest[written++] = 0xf0 | (c >> 18);
      dest[written++] = 0x80 | ((c >> 12) & 63);
      dest[written++] = 0x80 | ((c >> 6) & 63);
      dest[written++] = 0x80 | (c & 63);
    }
    read += units;
  }
  return { read, written };
}

/** Encodes strings as UTF-8. */
export class TextEncoder {
  get encoding(): string {
    return "utf-8";
  }
  encode(input: unknown = ""): Uint8Array {
    return utf8Encode(String(input));
  }
  encodeInto(source: unknown, destination: Uint8Array): { read: number; written: number } {
    if (!(destination instanceof Uint8Array)) throw new TypeError("TextEncoder.encodeInto: destination must be a Uint8Array");
    return encodeInto(String(source), destination);
  }
}

const UTF8_LABELS = new Set(["unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8", "x-unicode20utf8"]);

/** The UTF-8 decoder's state between chunks. */
interface DecoderState {
  codePoint: number;
  needed: number;
  seen: number;
  lower: number;
  upper: number;
}

/** Decodes UTF-8 bytes to a string. */
export class TextDecoder {
  readonly #fatal: boolean;
  readonly #ignoreBOM: boolean;
  #state: DecoderState = { codePoint: 0, needed: 0, seen: 0, lower: 0x80, upper: 0xbf };
  // Whether the BOM check is still to be done for the current stream.
  #bomPending = true;

  constructor(label: unknown = "utf-8", options: { fatal?: unknown; ignoreBOM?: unknown } | null | undefined = {}) {
    const name = String(label).trim().toLowerCase();
    if (!UTF8_LABELS.has(name)) throw new RangeError(`TextDecoder: the encoding "${String(label)}" is not supported (only utf-8 is)`);
    this.#fatal = Boolean(options?.fatal);
    this.#ignoreBOM = Boolean(options?.ignoreBOM);
  }

  get encoding(): string {
    return "utf-8";
  }
  get fatal(): boolean {
    return this.#fatal;
  }
  get ignoreBOM(): boolean {
    return this.#ignoreBOM;
  }

  decode(input?: unknown, options?: { stream?: unknown } | null): string {
    const bytes = input === undefined || input === null ? new Uint8Array(0) : toBytes(input, "TextDecoder.decode");
    const stream = Boolean(options?.stream);
    const s = this.#state;
    const out: string[] = [];
    let chunk = "";
    const emit = (cp: number) => {
      chunk += cp < 0x10000 ? String.fromCharCode(cp) : String.fromCharCode(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
      if (chunk.length >= 4096) {
        out.push(chunk);
        chunk = "";
      }
    };
    const error = () => {
      if (this.#fatal) {
        this.#reset();
        throw new TypeError("TextDecoder: the input is not valid UTF-8");
      }
      emit(0xfffd);
    };
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i] as number;
      if (s.needed === 0) {
        if (byte <= 0x7f) emit(byte);
        else if (byte >= 0xc2 && byte <= 0xdf) {
          s.needed = 1;
          s.codePoint = byte & 0x1f;
        } else if (byte >= 0xe0 && byte <= 0xef) {
          if (byte === 0xe0) s.lower = 0xa0;
          if (byte === 0xed) s.upper = 0x9f;
          s.needed = 2;
          s.codePoint = byte & 0xf;
        } else if (byte >= 0xf0 && byte <= 0xf4) {
          if (byte === 0xf0) s.lower = 0x90;
          if (byte === 0xf4) s.upper = 0x8f;
          s.needed = 3;
          s.codePoint = byte & 0x7;
        } else error();
        continue;
      }
      if (byte < s.lower || byte > s.upper) {
        s.codePoint = s.needed = s.seen = 0;
        s.lower = 0x80;
        s.upper = 0xbf;
        error();
        // The byte is processed again as the start of a sequence.
        i--;
        continue;
      }
      s.lower = 0x80;
      s.upper = 0xbf;
      s.codePoint = (s.codePoint << 6) | (byte & 0x3f);
      s.seen++;
      if (s.seen === s.needed) {
        const cp = s.codePoint;
        s.codePoint = s.needed = s.seen = 0;
        emit(cp);
      }
    }
    if (!stream && s.needed !== 0) {
      s.codePoint = s.needed = s.seen = 0;
      s.lower = 0x80;
      s.upper = 0xbf;
      error();
    }
    out.push(chunk);
    let text = out.join("");
    if (this.#bomPending && text.length > 0) {
      if (!this.#ignoreBOM && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      this.#bomPending = false;
    }
    if (!stream) this.#bomPending = true;
    return text;
  }

  #reset(): void {
    this.#state = { codePoint: 0, needed: 0, seen: 0, lower: 0x80, upper: 0xbf };
    this.#bomPending = true;
  }
}
