/**
 * Putting host-bound secret values in place of their placeholders in a
 * script's fetch request, and taking them back out of the response. Pure
 * functions over one request; bound-secrets.ts decides whose placeholders
 * these are and whether the destination may have them.
 *
 * A placeholder is `sy_bound_` and 32 base64url characters: it survives
 * URL, form and JSON encoding unchanged, so it is found as the script wrote
 * it, and the value is encoded as the place it lands in needs (percent-
 * encoded in the URL, JSON-escaped in a JSON body, form-encoded in a form
 * body, as it is elsewhere). Inside `Authorization: Basic` the credentials
 * are decoded, substituted and encoded again.
 */
import type { HostFetchRequest, HostFetchResponse } from "@switchyard/executor";

export const PLACEHOLDER_PREFIX = "sy_bound_";
const PLACEHOLDER_LENGTH = PLACEHOLDER_PREFIX.length + 32;
const PLACEHOLDER = /sy_bound_[A-Za-z0-9_-]{32}/g;
const PREFIX_BYTES = Buffer.from(PLACEHOLDER_PREFIX, "latin1");
const BASIC = /^(\s*basic\s+)(\S+)(\s*)$/i;

/** What the value of one placeholder is, as text. */
export type Lookup = (placeholder: string) => string | undefined;

/** How a value is written where it lands. */
type Encode = (value: string) => string;
const raw: Encode = (value) => value;
const jsonEscaped: Encode = (value) => JSON.stringify(value).slice(1, -1);
const formEncoded: Encode = (value) => new URLSearchParams([["", value]]).toString().slice(1);

/** The placeholders (known to `lookup`) that appear in `text`, each once. */
export function placeholdersIn(text: string, lookup: Lookup): string[] {
  if (!text.includes(PLACEHOLDER_PREFIX)) return [];
  const found = new Set<string>();
  for (const match of text.matchAll(PLACEHOLDER)) if (lookup(match[0]) !== undefined) found.add(match[0]);
  return [...found];
}

/** `text` with each known placeholder replaced by its value, encoded by `encode`; `used` collects the placeholders replaced. */
function replaceText(text: string, lookup: Lookup, encode: Encode, used: Set<string>): string {
  if (!text.includes(PLACEHOLDER_PREFIX)) return text;
  return text.replace(PLACEHOLDER, (match) => {
    const value = lookup(match);
    if (value === undefined) return match;
    used.add(match);
    return encode(value);
  });
}

/** A placeholder in the URL's host: never substituted (it would choose the destination), so the request is refused. */
export function placeholderInHost(url: URL, lookup: Lookup): boolean {
  return placeholdersIn(url.host, lookup).length > 0 || placeholdersIn(url.username + url.password, lookup).length > 0;
}

/** Byte offsets of known placeholders in `body`. */
function bodyPlaceholders(body: Uint8Array, lookup: Lookup): Array<[number, string]> {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const found: Array<[number, string]> = [];
  for (let at = bytes.indexOf(PREFIX_BYTES); at !== -1; at = bytes.indexOf(PREFIX_BYTES, at + 1)) {
    if (at + PLACEHOLDER_LENGTH > bytes.length) break;
    const candidate = bytes.toString("latin1", at, at + PLACEHOLDER_LENGTH);
    if (lookup(candidate) !== undefined) found.push([at, candidate]);
  }
  return found;
}

/** The encoder for a body of this content type. */
function bodyEncoding(contentType: string | undefined): Encode {
  const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (type === "application/json" || type.endsWith("+json")) return jsonEscaped;
  if (type === "application/x-www-form-urlencoded") return formEncoded;
  return raw;
}

function replaceBody(body: Uint8Array, lookup: Lookup, encode: Encode, used: Set<string>): Uint8Array {
  const found = bodyPlaceholders(body, lookup);
  if (found.length === 0) return body;
  const parts: Buffer[] = [];
  let from = 0;
  for (const [at, placeholder] of found) {
    if (at < from) continue;
    parts.push(Buffer.from(body.buffer, body.byteOffset + from, at - from));
    parts.push(Buffer.from(encode(lookup(placeholder) as string), "utf8"));
    used.add(placeholder);
    from = at + PLACEHOLDER_LENGTH;
  }
  parts.push(Buffer.from(body.buffer, body.byteOffset + from, body.byteLength - from));
  return Buffer.concat(parts);
}

/** A header value with its placeholders substituted; Basic credentials decoded, substituted and encoded again. */
function replaceHeader(name: string, value: string, lookup: Lookup, used: Set<string>, basics: string[]): string {
  if (name.toLowerCase() === "authorization") {
    const basic = BASIC.exec(value);
    if (basic) {
      const decoded = Buffer.from(basic[2] as string, "base64").toString("utf8");
      const replaced = replaceText(decoded, lookup, raw, used);
      if (replaced !== decoded) {
        const encoded = Buffer.from(replaced, "utf8").toString("base64");
        basics.push(encoded);
        return `${basic[1] as string}${encoded}${basic[3] as string}`;
      }
    }
  }
  return replaceText(value, lookup, raw, used);
}

export interface Substituted {
  request: HostFetchRequest;
  /** The placeholders put in, each once. */
  used: string[];
  /** Basic credentials as sent (base64), to be masked if the response echoes them. */
  basics: string[];
}

/**
 * The request with every known placeholder in its URL (path and query),
 * header values and body replaced. The caller has refused placeholders in
 * the host and in header names, and checks the destination against the
 * bindings of `used` before sending.
 */
export function substitute(request: HostFetchRequest, url: URL, lookup: Lookup): Substituted {
  const used = new Set<string>();
  const basics: string[] = [];
  const href = replaceText(url.href, lookup, encodeURIComponent, used);
  const headers = request.headers.map(([name, value]): [string, string] => [name, replaceHeader(name, value, lookup, used, basics)]);
  const contentType = request.headers.find(([name]) => name.toLowerCase() === "content-type")?.[1];
  const body = request.body ? replaceBody(request.body, lookup, bodyEncoding(contentType), used) : null;
  return { request: { ...request, url: href, headers, body }, used: [...used], basics };
}

/** Header names that carry a known placeholder (refused: a name is no place for a secret). */
export function placeholderInHeaderNames(request: HostFetchRequest, lookup: Lookup): boolean {
  return request.headers.some(([name]) => placeholdersIn(name, lookup).length > 0);
}

/** `\uXXXX` for each character `keep` does not accept, in lower- or upper-case hex. */
function unicodeEscaped(text: string, keep: RegExp, upper: boolean): string {
  let out = "";
  for (const char of text) {
    if (keep.test(char)) out += char;
    else for (let i = 0; i < char.length; i++) out += `\\u${char.charCodeAt(i).toString(16).padStart(4, "0")[upper ? "toUpperCase" : "toLowerCase"]()}`;
  }
  return out;
}

/**
 * The characters of base64 that only the value decides, when it sits 0, 1 or
 * 2 bytes into a longer encoded text (`user:value`, a JSON blob): the
 * characters mixed with the bytes around it are left off. Standard and URL
 * alphabets; too short to search for when the value is short.
 */
function embeddedBase64(value: string): string[] {
  const bytes = Buffer.from(value, "utf8");
  const forms: string[] = [];
  for (const offset of [0, 1, 2]) {
    let text = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64").replace(/=+$/, "");
    if ((offset + bytes.length) % 3 !== 0) text = text.slice(0, -1);
    text = text.slice([0, 2, 3][offset]);
    if (text.length >= 8) forms.push(text, text.replace(/\+/g, "-").replace(/\//g, "_"));
  }
  return forms;
}

// Python's ensure_ascii (and Java's) escape all but printable ASCII; Go escapes <, > and &.
const PRINTABLE_ASCII = /^[\x20-\x7e]$/u;
const NOT_HTML_SPECIAL = /^[^<>&]$/u;
const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const lowerHex = (encoded: string) => encoded.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());

/**
 * The forms in which a value sent may come back in a response: as sent;
 * JSON-escaped as JavaScript, PHP (`\/`), Python's `ensure_ascii` and Go
 * (`\u003c`) write it; percent- and form-encoded, with upper- or lower-case
 * hex, and as the URL parser re-encodes a query (`'` as `%27`); HTML-escaped;
 * and base64 of its UTF-8 bytes. A host that transforms it otherwise can
 * still hand it back (the README says so).
 */
export function echoForms(value: string): string[] {
  const json = jsonEscaped(value);
  const percent = encodeURIComponent(value);
  const inQuery = percent.replace(/'/g, "%27");
  const form = formEncoded(value);
  const base64 = Buffer.from(value, "utf8").toString("base64");
  const forms = new Set([
    value,
    json,
    json.replace(/\//g, "\\/"),
    unicodeEscaped(json, PRINTABLE_ASCII, false),
    unicodeEscaped(json, PRINTABLE_ASCII, true),
    unicodeEscaped(json, NOT_HTML_SPECIAL, false),
    percent,
    inQuery,
    form,
    lowerHex(percent),
    lowerHex(inQuery),
    lowerHex(form),
    value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] as string),
    value.replace(/[&<>"']/g, (char) => `&#x${char.charCodeAt(0).toString(16)};`),
    base64,
    base64.replace(/=+$/, ""),
    Buffer.from(value, "utf8").toString("base64url"),
    ...embeddedBase64(value),
  ]);
  forms.delete("");
  return [...forms];
}

/** One form of a value to take out of an answer: its text, its UTF-8 bytes, and what goes in its place. */
export interface EchoForm {
  text: string;
  bytes: Buffer;
  replacement: string;
}

/** The forms, as EchoForm, that are at least `minLength` long (made once per secret and run, not per request). */
export function compileEchoes(forms: readonly string[], replacement: string, minLength: number): EchoForm[] {
  return forms.filter((text) => text.length >= minLength).map((text) => ({ text, bytes: Buffer.from(text, "utf8"), replacement }));
}

/**
 * The response with each echo of a value it was sent replaced by that
 * value's placeholder, in its URL, status text, header values and body: a bound host that
 * reflects its request (an echo endpoint, an error page quoting a header)
 * must not hand the value to the script. Longer forms are replaced first.
 */
export function maskResponse(response: HostFetchResponse, echoes: readonly EchoForm[]): HostFetchResponse {
  if (echoes.length === 0) return response;
  const forms = [...echoes].sort((a, b) => b.text.length - a.text.length);
  const maskText = (text: string) => {
    let out = text;
    for (const form of forms) if (out.includes(form.text)) out = out.split(form.text).join(form.replacement);
    return out;
  };
  const headers = response.headers.map(([name, value]): [string, string] => [name, maskText(value)]);
  let body: Uint8Array = response.body;
  for (const form of forms) body = replaceBytes(body, form.bytes, form.replacement);
  // The final URL is the one sent, value included, when the placeholder was in it.
  return { ...response, url: maskText(response.url), statusText: maskText(response.statusText), headers, body };
}

function replaceBytes(body: Uint8Array, needle: Buffer, replacementText: string): Uint8Array {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let at = bytes.indexOf(needle);
  if (at === -1) return body;
  const replacement = Buffer.from(replacementText, "utf8");
  const parts: Buffer[] = [];
  let from = 0;
  while (at !== -1) {
    parts.push(bytes.subarray(from, at), replacement);
    from = at + needle.length;
    at = bytes.indexOf(needle, from);
  }
  parts.push(bytes.subarray(from));
  return Buffer.concat(parts);
}
