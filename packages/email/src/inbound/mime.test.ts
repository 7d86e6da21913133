import { describe, expect, test } from "vitest";
import { InboundError } from "./errors.ts";
import { parseMime, parseMimeWithin } from "./mime.ts";
import { scanMimeStructure } from "./mime-guard.ts";
import { expectInboundShape, fixture, RECEIVED_AT } from "./test-support.ts";
import { DEFAULT_INBOUND_LIMITS } from "./types.ts";

const mime = (name: string): Buffer => fixture(`mime/${name}`);
const decoded = (base64: string | null): string => Buffer.from(base64 ?? "", "base64").toString("utf8");

async function refusal(promise: Promise<unknown>): Promise<InboundError> {
  const error: unknown = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InboundError);
  return error as InboundError;
}

describe("parseMime on the published fixtures", () => {
  test("01: a plain US-ASCII message gives its subject, Message-Id, bare addresses and text only", async () => {
    const email = await parseMime(mime("01-plain-text.eml"), RECEIVED_AT);
    expectInboundShape(email);
    expect(email).toMatchObject({
      from: "test@lindsaar.net",
      to: ["raasdnil@gmail.com"],
      cc: [],
      subject: "Testing 123",
      html: "",
      message_id: "<6B7EC235-5B17-4CA8-B2B8-39290DEB43A3@test.lindsaar.net>",
      in_reply_to: null,
      attachments: [],
      received_at: "2026-11-24T12:00:00.000Z",
    });
    expect(email.text).toBe("Plain email.\n\nHope it works well!\n\nMikel");
    expect(email.headers.from).toBe("Mikel Lindsaar <test@lindsaar.net>");
    // Four Received headers, in order, joined with "\n"; folding removed.
    expect(email.headers.received?.split("\n")).toHaveLength(4);
    expect(email.headers.received?.split("\n")[0]).toMatch(/^by 10\.140\.178\.13 with SMTP id a13cs354079rvf;\s+Fri, 21 Nov 2008/);
  });

  test("02: multipart/alternative gives both bodies decoded from UTF-8 quoted-printable, and the Q-encoded subject", async () => {
    const email = await parseMime(mime("02-alternative-text-html.eml"), RECEIVED_AT);
    expectInboundShape(email);
    expect(email.subject).toBe("Tere öäõü");
    expect(email.message_id).toBe("<D1EF79F061C34ED99669A2A1E0548B63@node.ee>");
    expect(email.text).toContain("Kuidas läheb?");
    expect(email.html).toContain("<div>");
    expect(email.html).toContain("Kuidas läheb?");
    expect(email.attachments).toEqual([]);
  });

  test("03: nested mixed/alternative gives the folded subject, both Cc addresses and two attachments with their bytes", async () => {
    const email = await parseMime(mime("03-mixed-attachments.eml"), RECEIVED_AT);
    expectInboundShape(email);
    expect(email.subject).toBe("Nodemailer is totally-totally punicode  friendly ✔, no exceptions expected! öäõü");
    expect(email.message_id).toBe("<20111114143621.06FAD18F9C4C@smtp.zone.eu>");
    expect(email.from).toBe("test@spam-spam-spam.com");
    expect(email.to).toEqual(["andris.reinman@gmail.com"]);
    expect(email.cc).toEqual(["andris@tahvel.info", "andmekala@hot.ee"]);
    // The display name with a comma stays whole in the header.
    expect(email.headers.to).toBe('"Reinman, Andris" <andris.reinman@gmail.com>');
    expect(email.text).toContain("tere! ÖÄÕÜ žčš!");
    expect(email.html).toContain("<b>tere!</b>");
    expect(email.attachments.map((a) => [a.filename, a.content_type])).toEqual([
      ["notes.txt", "text/plain"],
      ["image.png", "image/png"],
    ]);
    expect(decoded(email.attachments[0]?.content_base64 ?? null)).toBe("Some notes about this e-mail");
    const png = Buffer.from(email.attachments[1]?.content_base64 ?? "", "base64");
    expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
  });

  test("04: an mbox From line and a raw 8-bit UTF-8 subject are read, and the PDF attachment kept", async () => {
    const email = await parseMime(mime("04-attachment-pdf.eml"), RECEIVED_AT);
    expectInboundShape(email);
    expect(email.subject).toBe("Another PDF with 🎉 Unicode chars in it 🍿");
    expect(email.headers.subject).toBe("Another PDF with 🎉 Unicode chars in it 🍿");
    expect(email.message_id).toBe("<xxxx@xxxx.com>");
    expect(Object.keys(email.headers).some((name) => name.includes(" "))).toBe(false);
    expect(email.text).toContain("Just attaching another PDF");
    expect(email.attachments).toHaveLength(1);
    expect(email.attachments[0]).toMatchObject({ filename: "broken.pdf", content_type: "application/pdf" });
    expect(decoded(email.attachments[0]?.content_base64 ?? null).startsWith("%PDF-1.4")).toBe(true);
  });

  test("05: an ISO-2022-JP body and B-encoded subject and display name decode to Japanese; no Message-ID is null", async () => {
    const email = await parseMime(mime("05-iso-2022-jp-b-encoded-subject.eml"), RECEIVED_AT);
    expectInboundShape(email);
    expect(email.subject).toBe("まみむめも");
    expect(email.text).toContain("すみません。");
    expect(email.message_id).toBeNull();
    expect(email.headers.date).toBeUndefined();
    expect(email.to).toEqual(["raasdnil@gmail.com"]);
    expect(email.headers.to).toBe("みける <raasdnil@gmail.com>");
  });

  test("06: ISO-8859-4 bodies and a two-word Q-encoded subject decode; the inline image stays a cid: reference and an attachment", async () => {
    const email = await parseMime(mime("06-iso-8859-4-related-inline-image.eml"), RECEIVED_AT);
    expectInboundShape(email);
    expect(email.subject).toBe("Simple test message with special characters like š and õ");
    expect(email.headers.subject).toBe("Simple test message with special characters like š and õ");
    expect(email.message_id).toBe("<BAFE6D0E-AE53-4698-9072-AD1C9BF966AB@gmail.com>");
    // From holds two mailboxes: `from` is the first, the header keeps both.
    expect(email.from).toBe("andris.reinman@gmail.com");
    expect(email.headers.from).toContain('"Pupkin, Vasya" <vasya.pupkin@example.com>');
    expect(email.text).toContain("special characters (öäõü)");
    expect(email.html).toContain("cid:4F26D18A-86BF-47CB-B58F-BFDCD36030FF@lan");
    expect(email.attachments.map((a) => [a.filename, a.content_type])).toEqual([["favourite.gif", "image/gif"]]);
  });

  test("07: the MIME torture test parses whole: nested messages, filename over name, a nameless attachment", async () => {
    const raw = mime("07-mime-torture-nested.eml");
    // mixed > message > mixed > message > mixed > message: embedded messages three deep.
    expect(scanMimeStructure(raw, DEFAULT_INBOUND_LIMITS)).toEqual({ parts: 49, depth: 6, exceeded: null });
    const email = await parseMime(raw, RECEIVED_AT);
    expectInboundShape(email);
    expect(email.subject).toBe("Ryan Finnie's MIME Torture Test v1.0");
    expect(email.message_id).toBe("<1066976914.4721.5.camel@localhost>");
    expect(email.attachments.map((a) => a.filename)).toEqual([
      "foo.gz",
      "blah.gz",
      "blah1.gz",
      null,
      "htmlfile.html",
      "smiley-3.png",
      "dot.gif",
      "signature.asc",
      null,
    ]);
    expect(email.attachments.map((a) => a.filename)).not.toContain("blah2.gz");
    expect(email.attachments[3]?.content_type).toBe("application/x-gzip");
    expect(email.attachments.find((a) => a.filename === "smiley-3.png")?.content_type).toBe("image/png");
    // Text from the nested messages is part of the text body.
    expect(email.text).toContain("Welcome to Ryan Finnie's MIME torture test.");
  });

  test("08: a text/html message with a bogus boundary parameter is one HTML part, not a multipart", async () => {
    const raw = mime("08-malformed-html-entity-boundary.eml");
    expect(scanMimeStructure(raw, DEFAULT_INBOUND_LIMITS)).toEqual({ parts: 1, depth: 0, exceeded: null });
    const email = await parseMime(raw, RECEIVED_AT);
    expectInboundShape(email);
    expect(email.message_id).toBe("<MXQAHQMRSTRWAEMHJAPA@guide-des-vins-de-bourgogne.fr>");
    expect(email.subject).toBe("123.042 Euro pro Jahr GRARANTIERT von einer Bank! KOSTENLOS");
    expect(email.text).toBe("");
    expect(email.html).toContain("<html>");
    expect(email.attachments).toEqual([]);
  });

  test("09: an unquoted boundary holding '=' still splits into text and HTML (ISO-8859-1)", async () => {
    const raw = mime("09-iso-8859-1-unquoted-illegal-boundary.eml");
    expect(scanMimeStructure(raw, DEFAULT_INBOUND_LIMITS)).toEqual({ parts: 3, depth: 1, exceeded: null });
    const email = await parseMime(raw, RECEIVED_AT);
    expectInboundShape(email);
    expect(email.message_id).toBe("<009601c813c6$19df3510$0437d30a@mikel091a>");
    expect(email.subject).toBe("Testing outlook");
    expect(email.text).toBe("Hello\nThis is an outlook test\n\nSo there.\n\nMe.\n");
    expect(email.html).toContain("<HTML>");
  });

  test("10: 8-bit ISO-8859-2 HTML decodes, no Subject is an empty string, and the Message-ID survives byte-exact", async () => {
    const email = await parseMime(mime("10-invalid-utf8-iso-8859-2-8bit.eml"), RECEIVED_AT);
    expectInboundShape(email);
    expect(email.subject).toBe("");
    expect(email.headers.subject).toBeUndefined();
    expect(email.message_id).toBe("<05988AA6EC0D44318855A5E39E3B6F9E@jansterba.com>");
    expect(email.html).toContain("Vážený zákazníku");
    expect(email.text).toContain("Vážený zákazníku");
    expect(email.to).toEqual(["info@recipient.cz"]);
    expect(email.headers["thread-topic"]).toBe("Informace o skladových zásobách Copmany");
  });
});

describe("parseMime edge cases", () => {
  test("a message without From falls back to Sender, and without either gives an empty from", async () => {
    const sender = await parseMime(Buffer.from("Sender: Desk <desk@example.com>\r\nTo: a@example.com\r\n\r\nhi\r\n"), RECEIVED_AT);
    expect(sender.from).toBe("desk@example.com");
    const bare = await parseMime(Buffer.from("Subject: anonymous\r\n\r\nhi\r\n"), RECEIVED_AT);
    expect(bare).toMatchObject({ from: "", to: [], cc: [], subject: "anonymous", text: "hi\n", html: "", message_id: null, attachments: [] });
  });
});

describe("parseMime limits", () => {
  test("the attachment cap keeps metadata but drops content past the budget, in arrival order", async () => {
    const email = await parseMime(mime("03-mixed-attachments.eml"), RECEIVED_AT, { maxAttachmentBytes: 100 });
    expect(email.attachments.map((a) => [a.filename, a.size, a.content_base64 === null])).toEqual([
      ["notes.txt", 28, false],
      ["image.png", 126, true],
    ]);
    const none = await parseMime(mime("03-mixed-attachments.eml"), RECEIVED_AT, { maxAttachmentBytes: 0 });
    expect(none.attachments.map((a) => a.content_base64)).toEqual([null, null]);
    expect(none.attachments.map((a) => a.size)).toEqual([28, 126]);
  });

  test("a message over maxBytes is refused as too_large (413) before parsing", async () => {
    const raw = mime("01-plain-text.eml");
    const error = await refusal(parseMime(raw, RECEIVED_AT, { maxBytes: raw.length - 1 }));
    expect(error).toMatchObject({ code: "too_large", status: 413, details: { size: raw.length, maxBytes: raw.length - 1 } });
    await expect(parseMime(raw, RECEIVED_AT, { maxBytes: raw.length })).resolves.toMatchObject({ subject: "Testing 123" });
  });

  test("a parse that outlives its wall-clock budget is refused as too_complex (422)", async () => {
    const part = Buffer.alloc(8 * 1024, 7).toString("base64").replace(/.{76}/g, "$&\r\n");
    let body = 'From: a@example.com\r\nTo: b@example.com\r\nSubject: slow\r\nContent-Type: multipart/mixed; boundary="s"\r\n\r\n';
    for (let i = 0; i < 400; i++) body += `--s\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${part}\r\n`;
    body += "--s--\r\n";
    const error = await refusal(parseMimeWithin(Buffer.from(body), RECEIVED_AT, DEFAULT_INBOUND_LIMITS, 1));
    expect(error).toMatchObject({ code: "too_complex", status: 422, details: { timeoutMs: 1 } });
  });
});

/** A multipart/mixed message with `count` small text parts. */
function manyParts(count: number): Buffer {
  const chunks = ['From: a@example.com\r\nTo: b@example.com\r\nSubject: many\r\nContent-Type: multipart/mixed; boundary="p"\r\n\r\n'];
  for (let i = 0; i < count; i++) chunks.push(`--p\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename="p${i}.txt"\r\n\r\npart ${i}\r\n`);
  chunks.push("--p--\r\n");
  return Buffer.from(chunks.join(""));
}

/** Multiparts nested `depth` levels deep, each with its own boundary. */
function deeplyNested(depth: number): Buffer {
  const open: string[] = ["From: a@example.com\r\nTo: b@example.com\r\nSubject: deep\r\n"];
  const close: string[] = [];
  for (let i = 0; i < depth; i++) {
    open.push(`Content-Type: multipart/mixed; boundary="d${i}"\r\n\r\n--d${i}\r\n`);
    close.unshift(`\r\n--d${i}--\r\n`);
  }
  return Buffer.from([...open, "Content-Type: text/plain\r\n\r\ndeepest\r\n", ...close].join(""));
}

async function timed<T>(work: () => Promise<T>): Promise<{ outcome: T | InboundError; ms: number; heapMb: number }> {
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  const outcome = await work().catch((error: unknown) => {
    if (error instanceof InboundError) return error;
    throw error;
  });
  return { outcome, ms: performance.now() - started, heapMb: (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20 };
}

describe("hostile structure", () => {
  test("a 10,000-part message is refused as too_complex within 2 s, with bounded heap", async () => {
    const raw = manyParts(10_000);
    const { outcome, ms, heapMb } = await timed(() => parseMime(raw, RECEIVED_AT));
    expect(outcome).toBeInstanceOf(InboundError);
    expect(outcome).toMatchObject({ code: "too_complex", status: 422, details: { maxParts: 500 } });
    expect(ms).toBeLessThan(2000);
    expect(heapMb).toBeLessThan(200);
  });

  test("a 1,000-deep nested message is refused as too_complex within 2 s, with bounded heap", async () => {
    const raw = deeplyNested(1000);
    expect(scanMimeStructure(raw, { maxParts: 10_000, maxDepth: 10_000 })).toMatchObject({ depth: 1000, exceeded: null });
    const { outcome, ms, heapMb } = await timed(() => parseMime(raw, RECEIVED_AT));
    expect(outcome).toMatchObject({ code: "too_complex", status: 422, details: { maxDepth: 20 } });
    expect(ms).toBeLessThan(2000);
    expect(heapMb).toBeLessThan(200);
  });

  test("with the part and depth limits lifted, the wall-clock budget still ends both within 2 s", async () => {
    const lifted = { ...DEFAULT_INBOUND_LIMITS, maxParts: 100_000, maxDepth: 100_000 };
    for (const raw of [manyParts(10_000), deeplyNested(1000)]) {
      const { outcome, ms, heapMb } = await timed(() => parseMimeWithin(raw, RECEIVED_AT, lifted, 800));
      // Parsed, or cut off by the timeout: either way, in time and in memory.
      if (outcome instanceof InboundError) expect(outcome.code).toBe("too_complex");
      else expect(outcome.subject).toMatch(/^(many|deep)$/);
      expect(ms).toBeLessThan(2000);
      expect(heapMb).toBeLessThan(200);
    }
  });

  test("a 400-part message under the limits parses in time with every attachment", async () => {
    const { outcome, ms } = await timed(() => parseMime(manyParts(400), RECEIVED_AT));
    if (outcome instanceof InboundError) throw outcome;
    expect(outcome.attachments).toHaveLength(400);
    expect(outcome.attachments[399]).toMatchObject({ filename: "p399.txt", content_type: "text/plain" });
    expect(ms).toBeLessThan(2000);
  });
});
