import addressparser from "nodemailer/lib/addressparser";
import { describe, expect, test } from "vitest";
import { bareAddresses, normalizeInReplyTo, normalizeMessageId, SIMPLE_ADDRESS } from "./addresses.ts";
import { decodeBytes, decodeEncodedWords } from "./encoded-words.ts";
import { formatMailbox, headerBlock, headerRecord, parseHeaderBytes, parseHeaderText } from "./headers.ts";

describe("decodeEncodedWords", () => {
  test("decodes Q and B words in any iconv-lite charset, cp850 included", () => {
    expect(decodeEncodedWords("=?cp850?q?Como_usted_pidi=A2?=")).toBe("Como usted pidió");
    expect(decodeEncodedWords("=?UTF-8?B?44G+44G/44KA44KB44KC?=")).toBe("まみむめも");
    expect(decodeEncodedWords("=?utf-8?q?Op=C3=A9rateur?= de test <sender@example.com>")).toBe("Opérateur de test <sender@example.com>");
  });

  test("joins adjacent words before decoding, so a character split across two words survives", () => {
    // "é" is C3 A9 in UTF-8: split between two words, each half alone is invalid.
    expect(decodeEncodedWords("=?utf-8?q?caf=C3?= =?utf-8?q?=A9?=")).toBe("café");
    expect(decodeEncodedWords("=?ISO-8859-4?Q?like_?=\r\n =?ISO-8859-4?Q?=B9_and_=F5?=")).toBe("like š and õ");
  });

  test("keeps the whitespace between an encoded word and plain text, and text that is not an encoded word", () => {
    expect(decodeEncodedWords("Re: =?utf-8?q?=C3=A9t=C3=A9?= report")).toBe("Re: été report");
    expect(decodeEncodedWords("no words here =? really")).toBe("no words here =? really");
  });

  test("an unknown charset reads as UTF-8 instead of failing, and UTF-7 is never decoded as UTF-7", () => {
    expect(decodeBytes(Buffer.from("abc"), "x-unknown-charset")).toBe("abc");
    expect(decodeBytes(Buffer.from("+ADw-script+AD4-"), "utf-7")).toBe("+ADw-script+AD4-");
  });
});

describe("header parsing", () => {
  test("unfolds continuation lines, skips an mbox From line and lines that are not fields", () => {
    const block = headerBlock(Buffer.from("From sender@example.com Tue May 10 11:28:07 2005\r\nSubject: a\r\n  folded\r\nnot a header\r\nX-Empty:\r\n\r\nBody: not a header\r\n"));
    expect(parseHeaderBytes(block)).toEqual([
      ["Subject", "a  folded"],
      ["X-Empty", ""],
    ]);
  });

  test("reads header bytes as UTF-8 when valid and as Latin-1 when not, line by line", () => {
    const block = Buffer.concat([Buffer.from("Subject: caf\u00e9 \u{1f389}\r\nX-Latin: caf", "utf8"), Buffer.from([0xe9]), Buffer.from("\r\n")]);
    expect(headerRecord(parseHeaderBytes(block))).toEqual({ subject: "café 🎉", "x-latin": "café" });
  });

  test("headerRecord lower-cases names, joins repeats in order with \\n, and treats __proto__ as a plain key", () => {
    const record = headerRecord(parseHeaderText("Received: one\nreceived: two\nRECEIVED: three\n__proto__: x\nSubject: =?utf-8?q?=C3=A9?=\n"));
    expect(record.received).toBe("one\ntwo\nthree");
    expect(record.subject).toBe("é");
    expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
    expect(Object.keys(record)).toContain("__proto__");
    expect(JSON.parse(JSON.stringify(record))).toMatchObject({ received: "one\ntwo\nthree" });
  });

  test("a long run of CRs inside a header line costs linear time, not quadratic", () => {
    const line = `X-Junk: ${"\r".repeat(200_000)}x\r\n`;
    const started = performance.now();
    expect(parseHeaderBytes(Buffer.from(`${line}Subject: ok\r\n`)).map(([name]) => name)).toEqual(["X-Junk", "Subject"]);
    expect(performance.now() - started).toBeLessThan(500);
  });

  test("formatMailbox quotes display names that need it", () => {
    expect(formatMailbox("Postmarkapp Support", "support@postmarkapp.com")).toBe("Postmarkapp Support <support@postmarkapp.com>");
    expect(formatMailbox("Reinman, Andris", "a@example.com")).toBe('"Reinman, Andris" <a@example.com>');
    expect(formatMailbox("", "a@example.com")).toBe("a@example.com");
  });
});

describe("addresses and ids", () => {
  test("bareAddresses drops display names, groups and trailing commas", () => {
    expect(bareAddresses('"Reinman, Andris" <andris@example.com>, b@example.com')).toEqual(["andris@example.com", "b@example.com"]);
    expect(bareAddresses("Team: a@example.com, b@example.com;")).toEqual(["a@example.com", "b@example.com"]);
    expect(bareAddresses("<info@recipient.cz>,")).toEqual(["info@recipient.cz"]);
    expect(bareAddresses("undisclosed-recipients:;")).toEqual([]);
  });

  test("bareAddresses answers exactly as nodemailer's addressparser, fast path or not", () => {
    const viaParser = (value: string) =>
      addressparser(value, { flatten: true })
        .map((entry) => entry.address.trim())
        .filter((address) => address.includes("@"));
    const samples = [
      "a@example.com",
      "  a@example.com ",
      "Ann <ann@example.com>",
      "<ann@example.com>",
      "=?utf-8?q?Op=C3=A9rateur?= <op@example.com>",
      "Ann Lee <ann.lee+tag@sub.example.com>",
      '"Lee, Ann" <ann@example.com>',
      "Ann (work) <ann@example.com>",
      "ann@example.com (Ann)",
      "a@example.com, b@example.com",
      "a@b@example.com",
      "Ann <ann@example.com> trailing",
      "Ann <ann@example.com>, Bob <bob@example.com>",
      "<@route.example:ann@example.com>",
      "ann@[192.0.2.1]",
      "Ann <ann@example.com",
      "Ann\\ <ann@example.com>",
      "not an address",
      "Team: a@example.com;",
    ];
    // And strings made of pieces the fast path must tell apart; a
    // few hundred of them take the fast path (checked below).
    const pieces = ["ann", "b.c", "x@y.z", "<x@y.z>", "Ann Lee ", "@", " ", "\t", "<", ">", '"', ",", ";", ":", "(", ")", "[", "]", "\\", "=?utf-8?q?A=C3=A9?="];
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let fast = 0;
    for (let i = 0; i < 5_000; i++) {
      let s = "";
      const count = 1 + Math.floor(next() * 4);
      for (let j = 0; j < count; j++) s += pieces[Math.floor(next() * pieces.length)];
      samples.push(s);
      if (SIMPLE_ADDRESS.test(s)) fast++;
    }
    expect(fast).toBeGreaterThan(150);
    for (const value of samples) expect([value, bareAddresses(value)]).toEqual([value, viaParser(value)]);
  });

  test("Message-IDs keep or gain angle brackets; In-Reply-To keeps every id", () => {
    expect(normalizeMessageId(" <a@b> ")).toBe("<a@b>");
    expect(normalizeMessageId("a@b")).toBe("<a@b>");
    expect(normalizeMessageId("")).toBeNull();
    expect(normalizeInReplyTo("<a@b>\r\n <c@d>")).toBe("<a@b> <c@d>");
  });
});
