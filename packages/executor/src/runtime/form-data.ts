/**
 * `FormData`, and its `multipart/form-data` encoding and parsing for request
 * and response bodies, INSIDE the isolate.
 */
import { Blob, File, blobBytes } from "./blob.ts";
import { concatBytes } from "./bytes.ts";
import { utf8Encode } from "./encoding.ts";
import { utf8Decode } from "./utf8.ts";

type Entry = [string, string | File];

const entries = new WeakMap<object, Entry[]>();

function listOf(form: unknown): Entry[] {
  const list = entries.get(form as object);
  if (!list) throw new TypeError("Illegal invocation: not a FormData");
  return list;
}

function toEntry(name: unknown, value: unknown, filename: unknown, count: number): Entry {
  if (value instanceof Blob) {
    const file =
      value instanceof File && filename === undefined
        ? value
        : new File([value], filename !== undefined ? String(filename) : value instanceof File ? value.name : "blob", { type: value.type });
    return [String(name), file];
  }
  if (count > 2) throw new TypeError("FormData: a filename is only allowed with a Blob value");
  return [String(name), String(value)];
}

/** Form fields: names with string or File values. */
export class FormData {
  constructor(form?: unknown) {
    if (form !== undefined) throw new TypeError("FormData: a form element is not available in this runtime");
    entries.set(this, []);
  }
  append(name: unknown, value: unknown, filename?: unknown): void {
    listOf(this).push(toEntry(name, value, filename, arguments.length));
  }
  delete(name: unknown): void {
    const key = String(name);
    entries.set(
      this,
      listOf(this).filter(([n]) => n !== key),
    );
  }
  get(name: unknown): string | File | null {
    const key = String(name);
    return listOf(this).find(([n]) => n === key)?.[1] ?? null;
  }
  getAll(name: unknown): Array<string | File> {
    const key = String(name);
    return listOf(this)
      .filter(([n]) => n === key)
      .map(([, v]) => v);
  }
  has(name: unknown): boolean {
    const key = String(name);
    return listOf(this).some(([n]) => n === key);
  }
  set(name: unknown, value: unknown, filename?: unknown): void {
    const entry = toEntry(name, value, filename, arguments.length);
    const list = listOf(this);
    const at = list.findIndex(([n]) => n === entry[0]);
    if (at < 0) {
      list.push(entry);
      return;
    }
    list[at] = entry;
    entries.set(
      this,
      list.filter(([n], i) => n !== entry[0] || i === at),
    );
  }
  forEach(callback: (value: string | File, name: string, form: FormData) => void, thisArg?: unknown): void {
    for (const [name, value] of listOf(this).slice()) callback.call(thisArg, value, name, this);
  }
  *entries(): IterableIterator<[string, string | File]> {
    for (const [name, value] of listOf(this).slice()) yield [name, value];
  }
  *keys(): IterableIterator<string> {
    for (const [name] of listOf(this).slice()) yield name;
  }
  *values(): IterableIterator<string | File> {
    for (const [, value] of listOf(this).slice()) yield value;
  }
  [Symbol.iterator](): IterableIterator<[string, string | File]> {
    return this.entries();
  }
}

const escapeName = (name: string) => name.replace(/\r\n|\r|\n/g, "\r\n").replace(/\n/g, "%0A").replace(/\r/g, "%0D").replace(/"/g, "%22");

/** The multipart body of a form and its boundary. */
export function encodeMultipart(form: FormData, boundary: string): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [name, value] of listOf(form)) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"`;
    if (typeof value === "string") {
      parts.push(utf8Encode(`${head}\r\n\r\n${value.replace(/\r(?!\n)|(?<!\r)\n/g, "\r\n")}\r\n`));
      continue;
    }
    head += `; filename="${escapeName(value.name)}"\r\nContent-Type: ${value.type || "application/octet-stream"}\r\n\r\n`;
    parts.push(utf8Encode(head), blobBytes(value), utf8Encode("\r\n"));
  }
  parts.push(utf8Encode(`--${boundary}--\r\n`));
  return concatBytes(parts);
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i <= haystack.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Parses a multipart/form-data body; throws TypeError when it is not one. */
export function decodeMultipart(bytes: Uint8Array, boundary: string): FormData {
  const form = new FormData();
  const delimiter = utf8Encode(`--${boundary}`);
  const crlf2 = utf8Encode("\r\n\r\n");
  let at = indexOf(bytes, delimiter, 0);
  if (at < 0) throw new TypeError("formData: the body is not multipart/form-data with the given boundary");
  for (;;) {
    at += delimiter.length;
    if (bytes[at] === 0x2d && bytes[at + 1] === 0x2d) return form;
    at += 2;
    const headEnd = indexOf(bytes, crlf2, at);
    if (headEnd < 0) break;
    const head = utf8Decode(bytes.subarray(at, headEnd));
    const next = indexOf(bytes, utf8Encode(`\r\n--${boundary}`), headEnd + 4);
    if (next < 0) break;
    const body = bytes.subarray(headEnd + 4, next);
    const disposition = /content-disposition:[^\r\n]*/i.exec(head)?.[0] ?? "";
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
    if (name === undefined) break;
    const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
    if (filename === undefined) form.append(name, utf8Decode(body));
    else {
      const type = /content-type:\s*([^\r\n]*)/i.exec(head)?.[1] ?? "";
      form.append(name, new File([body.slice()], filename, { type }));
    }
    at = next + 2;
  }
  throw new TypeError("formData: the multipart body is malformed");
}
