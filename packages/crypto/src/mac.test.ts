import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { macSha256 } from "./mac.ts";
import { SecretKey } from "./secret-key.ts";

/** HMAC by its definition (RFC 2104): H(K ^ opad || H(K ^ ipad || m)), from SHA-256 alone. */
function hmacByHand(keyBytes: Buffer, data: Buffer): Buffer {
  const block = Buffer.alloc(64);
  keyBytes.copy(block);
  const inner = createHash("sha256").update(block.map((b) => b ^ 0x36)).update(data).digest();
  return createHash("sha256").update(block.map((b) => b ^ 0x5c)).update(inner).digest();
}

describe("macSha256", () => {
  it("is HMAC-SHA256 as RFC 2104 defines it, for text and bytes", () => {
    const keyBytes = Buffer.alloc(32, 0x0b);
    const key = SecretKey.fromBytes("mac-test", keyBytes);
    const expected = hmacByHand(keyBytes, Buffer.from("Hi There"));
    expect(macSha256(key, Buffer.from("Hi There")).equals(expected)).toBe(true);
    expect(macSha256(key, "Hi There").equals(expected)).toBe(true);
  });

  it("differs under another key and for other data", () => {
    const a = SecretKey.generate("a");
    const b = SecretKey.generate("b");
    expect(macSha256(a, "row").equals(macSha256(b, "row"))).toBe(false);
    expect(macSha256(a, "row").equals(macSha256(a, "rows"))).toBe(false);
    expect(macSha256(a, "row")).toHaveLength(32);
  });
});
