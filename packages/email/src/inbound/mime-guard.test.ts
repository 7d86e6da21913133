import { describe, expect, test } from "vitest";
import { InboundError } from "./errors.ts";
import { guardMimeStructure, scanMimeStructure } from "./mime-guard.ts";
import { fixture } from "./test-support.ts";
import { DEFAULT_INBOUND_LIMITS } from "./types.ts";

const unlimited = { maxParts: 1_000_000, maxDepth: 1_000_000 };
const scan = (text: string) => scanMimeStructure(Buffer.from(text), unlimited);

describe("scanMimeStructure", () => {
  test("counts a single-part message as one part at depth 0", () => {
    expect(scan("Subject: x\r\n\r\nhello\r\n")).toEqual({ parts: 1, depth: 0, exceeded: null });
  });

  test("counts the root, each delimited part, and the nesting of the published fixtures", () => {
    const limits = DEFAULT_INBOUND_LIMITS;
    expect(scanMimeStructure(fixture("mime/02-alternative-text-html.eml"), limits)).toEqual({ parts: 3, depth: 1, exceeded: null });
    expect(scanMimeStructure(fixture("mime/03-mixed-attachments.eml"), limits)).toEqual({ parts: 6, depth: 2, exceeded: null });
    expect(scanMimeStructure(fixture("mime/06-iso-8859-4-related-inline-image.eml"), limits)).toEqual({ parts: 5, depth: 2, exceeded: null });
  });

  test("ignores delimiter-like lines after a multipart is closed (the epilogue) and lines that only start like one", () => {
    const text = [
      'Content-Type: multipart/mixed; boundary="b"',
      "",
      "--b",
      "",
      "one",
      "--bx",
      "--b --",
      "--b",
      "",
      "two",
      "--b--",
      "--b",
      "--b",
    ].join("\r\n");
    expect(scan(text)).toEqual({ parts: 3, depth: 1, exceeded: null });
  });

  test("an outer delimiter closes inner multiparts that never closed", () => {
    const text = [
      'Content-Type: multipart/mixed; boundary="outer"',
      "",
      "--outer",
      'Content-Type: multipart/alternative; boundary="inner"',
      "",
      "--inner",
      "",
      "a",
      "--outer",
      "",
      "b",
      "--inner",
      "",
      "not a part: inner is closed",
      "--outer--",
    ].join("\n");
    expect(scan(text)).toEqual({ parts: 4, depth: 2, exceeded: null });
  });

  test("finds boundaries however the Content-Type spells them: folded, commented, unquoted, RFC 2231", () => {
    const spelled = (contentType: string, boundary: string) =>
      scan(`Content-Type: ${contentType}\r\n\r\n--${boundary}\r\n\r\nx\r\n--${boundary}\r\n\r\ny\r\n--${boundary}--\r\n`);
    expect(spelled("multipart/mixed;\r\n\tboundary=\"folded\"", "folded").parts).toBe(3);
    expect(spelled("multipart/mixed; boundary=b (a comment)", "b").parts).toBe(3);
    expect(spelled("multipart/mixed; boundary=----=_NextPart_000", "----=_NextPart_000").parts).toBe(3);
    expect(spelled("multipart/mixed; boundary*0=ab; boundary*1=cd", "abcd").parts).toBe(3);
    expect(spelled("multipart/mixed; boundary*=us-ascii''ab%20cd", "ab cd").parts).toBe(3);
    expect(spelled("MULTIPART/Mixed; BOUNDARY=\"Up\"", "Up").parts).toBe(3);
  });

  test("counts embedded message/rfc822 parts as a level and their header block as a part", () => {
    const text = [
      'Content-Type: multipart/mixed; boundary="m"',
      "",
      "--m",
      "Content-Type: message/rfc822",
      "",
      'Content-Type: multipart/alternative; boundary="n"',
      "",
      "--n",
      "",
      "inner",
      "--n--",
      "--m--",
    ].join("\r\n");
    // root, the message/rfc822 part, the embedded message, its one part.
    expect(scan(text)).toEqual({ parts: 4, depth: 3, exceeded: null });
  });

  test("scans a 25 MiB message of delimiter-like lines in linear time", () => {
    const raw = Buffer.concat([Buffer.from('Content-Type: multipart/mixed; boundary="p"\r\n\r\n--p\r\n\r\n'), Buffer.alloc(DEFAULT_INBOUND_LIMITS.maxBytes - 64, "--px\r\n")]);
    const started = performance.now();
    expect(scanMimeStructure(raw, DEFAULT_INBOUND_LIMITS)).toEqual({ parts: 2, depth: 1, exceeded: null });
    expect(performance.now() - started).toBeLessThan(1500);
  });

  test("stops at the first part or level past the limit", () => {
    let many = 'Content-Type: multipart/mixed; boundary="p"\r\n\r\n';
    for (let i = 0; i < 50; i++) many += "--p\r\n\r\nx\r\n";
    expect(scanMimeStructure(Buffer.from(many), { maxParts: 10, maxDepth: 5 })).toEqual({ parts: 11, depth: 1, exceeded: "parts" });

    let deep = "";
    for (let i = 0; i < 50; i++) deep += `Content-Type: multipart/mixed; boundary="d${i}"\r\n\r\n--d${i}\r\n`;
    expect(scanMimeStructure(Buffer.from(deep), { maxParts: 1000, maxDepth: 5 })).toMatchObject({ depth: 6, exceeded: "depth" });
  });
});

describe("guardMimeStructure", () => {
  test("refuses too many parts, too deep, and too large with the codes and statuses the endpoint answers", () => {
    const limits = { ...DEFAULT_INBOUND_LIMITS, maxParts: 2, maxDepth: 1, maxBytes: 10_000 };
    const refused = (text: string): InboundError => {
      try {
        guardMimeStructure(Buffer.from(text), limits);
      } catch (error) {
        if (error instanceof InboundError) return error;
        throw error;
      }
      throw new Error("not refused");
    };
    expect(refused('Content-Type: multipart/mixed; boundary="p"\r\n\r\n--p\r\n\r\na\r\n--p\r\n\r\nb\r\n--p--\r\n')).toMatchObject({ code: "too_complex", status: 422 });
    expect(refused('Content-Type: multipart/mixed; boundary="a"\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n')).toMatchObject({
      code: "too_complex",
      status: 422,
      details: { maxDepth: 1 },
    });
    expect(refused("x".repeat(10_001))).toMatchObject({ code: "too_large", status: 413 });
    expect(guardMimeStructure(Buffer.from("Subject: fine\r\n\r\nbody"), limits)).toEqual({ parts: 1, depth: 0, exceeded: null });
  });
});
