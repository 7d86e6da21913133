// Helpers for this folder's tests: the shared fixtures, real form encodings
// of the JSON-described provider posts, and the one shape check every
// provider's output must pass. Not exported from the package.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { parseInbound } from "./parse-inbound.ts";
import type { InboundEmail, InboundLimits, ParsedInbound } from "./types.ts";

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "pnpm-workspace.yaml"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("pnpm-workspace.yaml not found above the tests");
    dir = parent;
  }
  return dir;
}

/** The provider payloads and MIME messages kept in the repository (see its SOURCES.md). */
export const FIXTURES = resolve(repoRoot(), "test/fixtures/email");

export function fixture(path: string): Buffer {
  return readFileSync(join(FIXTURES, path));
}

export function fixtureJson(path: string): Record<string, string> {
  return JSON.parse(fixture(path).toString("utf8")) as Record<string, string>;
}

export const RECEIVED_AT = new Date("2026-11-24T12:00:00.000Z");

/** Posts a form body to a form provider's parser as the HTTP layer would, received at RECEIVED_AT. */
export function formPoster(provider: "mailgun" | "sendgrid") {
  return (input: { contentType: string; body: Buffer }, limits: Partial<InboundLimits> = {}): Promise<ParsedInbound> =>
    parseInbound(provider, { ...input, receivedAt: RECEIVED_AT }, limits);
}

/**
 * anymail's test message as Mailgun's forward post and SendGrid's parsed post
 * both carry it: one mail, so the two providers must read it alike.
 */
export const ANYMAIL_PARSED_EMAIL = {
  from: "from+test@example.org",
  to: ["test@inbound.example.com", "other@example.com"],
  cc: ["cc@example.com"],
  subject: "Test subject",
  text: "Test body plain",
  html: "<div>Test body html</div>",
  message_id: "<CAEPk3R+4Zr@mail.example.org>",
  attachments: [],
} as const satisfies Partial<InboundEmail>;

export interface FormFilePart {
  name: string;
  filename: string;
  contentType: string;
  content: Buffer;
}

/** A real multipart/form-data body (CRLF, as browsers and providers send it). */
export function encodeMultipart(fields: Record<string, string | Buffer>, files: FormFilePart[] = [], boundary = "----switchyard-test-boundary"): { contentType: string; body: Buffer } {
  const chunks: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`), Buffer.isBuffer(value) ? value : Buffer.from(value, "utf8"), Buffer.from("\r\n"));
  }
  for (const file of files) {
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${file.name}"; filename="${file.filename}"\r\nContent-Type: ${file.contentType}\r\n\r\n`),
      file.content,
      Buffer.from("\r\n"),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(chunks) };
}

/** A real application/x-www-form-urlencoded body. */
export function encodeUrlencoded(fields: Record<string, string>): { contentType: string; body: Buffer } {
  return { contentType: "application/x-www-form-urlencoded", body: Buffer.from(new URLSearchParams(fields).toString(), "utf8") };
}

/** The one shape every provider's output has: the same keys, the same types. */
export function expectInboundShape(email: InboundEmail): void {
  expect(Object.keys(email).sort()).toEqual(
    ["attachments", "cc", "from", "headers", "html", "in_reply_to", "message_id", "received_at", "subject", "text", "to"].sort(),
  );
  expect(email.from).toMatch(/^[^\s<>"]+@[^\s<>"]+$/);
  for (const list of [email.to, email.cc]) {
    expect(Array.isArray(list)).toBe(true);
    for (const address of list) expect(address).toMatch(/^[^\s<>"]+@[^\s<>"]+$/);
  }
  for (const text of [email.subject, email.text, email.html]) expect(typeof text).toBe("string");
  for (const id of [email.message_id, email.in_reply_to]) {
    if (id !== null) expect(id).toMatch(/^<[^<>]+>( <[^<>]+>)*$/);
  }
  expect(Object.getPrototypeOf(email.headers)).toBe(Object.prototype);
  for (const [name, value] of Object.entries(email.headers)) {
    expect(name).toBe(name.toLowerCase());
    expect(typeof value).toBe("string");
  }
  for (const attachment of email.attachments) {
    expect(Object.keys(attachment).sort()).toEqual(["content_base64", "content_type", "filename", "size"]);
    expect(attachment.filename === null || typeof attachment.filename === "string").toBe(true);
    expect(attachment.content_type).toMatch(/^[\w.+-]+\/[\w.+-]+$/);
    expect(Number.isInteger(attachment.size)).toBe(true);
    if (attachment.content_base64 !== null) expect(Buffer.from(attachment.content_base64, "base64").length).toBe(attachment.size);
  }
  expect(new Date(email.received_at).toISOString()).toBe(email.received_at);
}
