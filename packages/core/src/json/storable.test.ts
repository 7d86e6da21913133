import { describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH, findUnstorable, findUnstorableText } from "./storable.ts";

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
  return value;
}

describe("findUnstorable", () => {
  it("accepts ordinary JSON, surrogate pairs included", () => {
    expect(findUnstorable({ a: [1, "x", null, true, { "😀": "é😀" }], b: 1e308 })).toBeNull();
  });

  it("names the place of a NUL in a string or a key", () => {
    expect(findUnstorable({ a: [1, "x\u0000y"] })).toMatchObject({ code: "unsupported_character", path: "a.1" });
    expect(findUnstorable({ a: { "k\u0000": 1 } })).toMatchObject({ code: "unsupported_character", path: "a.k\u0000" });
  });

  it("refuses lone surrogates but not pairs", () => {
    expect(findUnstorable(["\uD800"])).toMatchObject({ code: "unsupported_character", path: "0" });
    expect(findUnstorable(["a\uDC00"])).toMatchObject({ code: "unsupported_character" });
    expect(findUnstorable(["\uD83D\uDE00"])).toBeNull();
  });

  it("refuses numbers JSON cannot represent", () => {
    expect(findUnstorable({ n: JSON.parse("1e400") })).toMatchObject({ code: "unsupported_number", path: "n" });
    expect(findUnstorable([Number.NaN])).toMatchObject({ code: "unsupported_number" });
  });

  it("allows exactly the maximum depth and refuses one more", () => {
    expect(findUnstorable(nested(MAX_JSON_DEPTH))).toBeNull();
    expect(findUnstorable(nested(MAX_JSON_DEPTH + 1))).toMatchObject({ code: "too_deep" });
  });

  it("walks 10,000-deep values without overflowing the stack", () => {
    expect(findUnstorable(nested(10_000))).toMatchObject({ code: "too_deep" });
    expect(findUnstorable(nested(10_000), 20_000)).toBeNull();
  });

  it("reports the first problem in document order", () => {
    expect(findUnstorable({ a: "\u0000", b: "\uD800" })?.path).toBe("a");
  });
});

describe("findUnstorableText", () => {
  it("refuses NUL and lone surrogates in plain text", () => {
    expect(findUnstorableText("ok 😀")).toBeNull();
    expect(findUnstorableText("a\u0000b")?.code).toBe("unsupported_character");
    expect(findUnstorableText("\uDFFF")?.code).toBe("unsupported_character");
  });
});
