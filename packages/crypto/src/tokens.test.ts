import { describe, expect, it } from "vitest";
import { constantTimeEqual, generateToken, hashToken } from "./tokens.ts";

describe("generateToken", () => {
  it("gives the prefix, an underscore and 32 random bytes in base64url", () => {
    const token = generateToken("sy");
    expect(token).toMatch(/^sy_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token.slice(3), "base64url").length).toBe(32);
  });

  it("never repeats a token", () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => generateToken("sy")));
    expect(tokens.size).toBe(1000);
  });
});

describe("hashToken", () => {
  it("is the hex SHA-256 of the token's UTF-8 bytes", () => {
    // FIPS 180-2 example: SHA-256("abc")
    expect(hashToken("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    // U+00E9 hashed as its two UTF-8 bytes c3 a9
    expect(hashToken("é")).toBe("4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c");
  });

  it("does not contain the token", () => {
    const token = generateToken("sy");
    expect(hashToken(token)).not.toContain(token.slice(3, 15));
    expect(hashToken(token)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("constantTimeEqual", () => {
  it("is true for equal strings and equal bytes, across the two forms", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(constantTimeEqual("ab", new Uint8Array([0x61, 0x62]))).toBe(true);
    expect(constantTimeEqual("", "")).toBe(true);
  });

  it("is false when the contents differ in any position", () => {
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "xbc")).toBe(false);
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
  });

  it("is false, without throwing, when the lengths differ", () => {
    expect(constantTimeEqual("abc", "abcd")).toBe(false);
    expect(constantTimeEqual("", "a")).toBe(false);
    // Same number of characters, different number of UTF-8 bytes.
    expect(constantTimeEqual("é", "e")).toBe(false);
  });
});
