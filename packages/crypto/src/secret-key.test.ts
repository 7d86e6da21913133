import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { CryptoError } from "./errors.ts";
import { printedForms } from "./printed-forms.test-helper.ts";
import { SecretKey } from "./secret-key.ts";

describe("SecretKey", () => {
  const bytes = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 256));

  it("keeps a copy of the bytes it was given", () => {
    const input = Buffer.from(bytes);
    const key = SecretKey.fromBytes("k1", input);
    input.fill(0);
    expect(key.exportBytes().equals(bytes)).toBe(true);
  });

  it("exports a copy that can be zeroed without touching the key", () => {
    const key = SecretKey.fromBytes("k1", bytes);
    key.exportBytes().fill(0);
    expect(key.exportBytes().equals(bytes)).toBe(true);
  });

  it("accepts a Uint8Array view into a larger buffer, taking only the viewed bytes", () => {
    const backing = new Uint8Array(40).fill(9);
    backing.set(bytes, 4);
    const key = SecretKey.fromBytes("k1", backing.subarray(4, 36));
    expect(key.exportBytes().equals(bytes)).toBe(true);
  });

  it("generates different 32-byte keys each time", () => {
    const a = SecretKey.generate("a").exportBytes();
    const b = SecretKey.generate("b").exportBytes();
    expect(a.length).toBe(32);
    expect(a.equals(b)).toBe(false);
  });

  it.each([0, 16, 31, 33, 64])("refuses %i bytes as invalid_key without echoing them", (length) => {
    const wrong = Buffer.alloc(length, 0xab);
    const run = () => SecretKey.fromBytes("k1", wrong);
    expect(run).toThrow(CryptoError);
    expect(run).toThrow(expect.objectContaining({ code: "invalid_key", message: expect.stringContaining(`${length} bytes`) }));
    try {
      run();
    } catch (error) {
      if (length > 0) expect((error as Error).message).not.toContain(wrong.toString("hex"));
    }
  });

  it.each(["", "a".repeat(65), "k 1", "k:1", "k,1", "ключ", "k1\n"])("refuses the key id %j", (id) => {
    expect(() => SecretKey.fromBytes(id, bytes)).toThrow(expect.objectContaining({ code: "invalid_key" }));
    expect(() => SecretKey.generate(id)).toThrow(expect.objectContaining({ code: "invalid_key" }));
  });

  it("accepts ids of letters, digits, _ and - up to 64 characters", () => {
    expect(SecretKey.fromBytes("a".repeat(64), bytes).id).toBe("a".repeat(64));
    expect(SecretKey.fromBytes("2025-01_Key", bytes).id).toBe("2025-01_Key");
  });

  it("prints as SecretKey(<id>) [redacted] and never shows its bytes", () => {
    const key = SecretKey.fromBytes("k1", bytes);
    expect(String(key)).toBe("SecretKey(k1) [redacted]");
    expect(inspect(key)).toBe("SecretKey(k1) [redacted]");
    expect(JSON.stringify(key)).toBe('"SecretKey(k1) [redacted]"');
    for (const text of printedForms(key)) {
      expect(text).not.toContain(bytes.toString("base64"));
      expect(text).not.toContain(bytes.toString("base64").slice(0, 12));
      expect(text).not.toContain(bytes.toString("hex"));
      expect(text).not.toContain(bytes.toString("hex").slice(0, 16));
    }
    expect(Object.keys(key)).toEqual(["id"]);
    expect({ ...key }).toEqual({ id: "k1" });
  });
});
