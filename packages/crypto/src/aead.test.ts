import { describe, expect, it } from "vitest";
import { open, seal, sealedKeyId } from "./aead.ts";
import { CryptoError, type CryptoErrorCode } from "./errors.ts";
import { SecretKey } from "./secret-key.ts";

const key = SecretKey.generate("k1");
const AAD = "secret:app/42:DB_PASSWORD";

function codeOf(run: () => unknown): CryptoErrorCode | "no error" {
  try {
    run();
  } catch (error) {
    if (error instanceof CryptoError) return error.code;
    throw error;
  }
  return "no error";
}

describe("seal and open", () => {
  it("round-trips plaintext with string or byte associated data", () => {
    const plaintext = Buffer.from("hunter2 ✓", "utf8");
    expect(open(key, seal(key, plaintext, AAD), AAD).equals(plaintext)).toBe(true);

    const aadBytes = new Uint8Array([1, 2, 3]);
    expect(open(key, seal(key, plaintext, aadBytes), aadBytes).equals(plaintext)).toBe(true);
  });

  it("round-trips an empty plaintext", () => {
    expect(open(key, seal(key, new Uint8Array(0), AAD), AAD).length).toBe(0);
  });

  it("writes version 1, the key id, a 12-byte nonce, the ciphertext and a 16-byte tag", () => {
    const sealed = seal(key, Buffer.from("abcde"), AAD);
    expect(sealed[0]).toBe(0x01);
    expect(sealed[1]).toBe(2);
    expect(sealed.subarray(2, 4).toString("utf8")).toBe("k1");
    expect(sealed.length).toBe(1 + 1 + 2 + 12 + 5 + 16);
    expect(sealedKeyId(sealed)).toBe("k1");
  });

  it("never leaves the plaintext visible in the sealed bytes", () => {
    const plaintext = Buffer.from("a very recognisable plaintext");
    expect(seal(key, plaintext, AAD).includes(plaintext)).toBe(false);
  });

  it("gives two different blobs for the same plaintext and associated data", () => {
    const plaintext = Buffer.from("same");
    expect(seal(key, plaintext, AAD).equals(seal(key, plaintext, AAD))).toBe(false);
  });

  it("refuses to open with other associated data, keeping the cause", () => {
    const sealed = seal(key, Buffer.from("hunter2"), "secret:app/42:A");
    let caught: unknown;
    try {
      open(key, sealed, "secret:app/43:A");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CryptoError);
    expect((caught as CryptoError).code).toBe("decrypt_failed");
    expect((caught as CryptoError).cause).toBeInstanceOf(Error);
    expect((caught as CryptoError).message).not.toContain("hunter2");
  });

  it("refuses to open with a different key of the same id", () => {
    const sealed = seal(key, Buffer.from("hunter2"), AAD);
    expect(codeOf(() => open(SecretKey.generate("k1"), sealed, AAD))).toBe("decrypt_failed");
  });

  it("reports a blob sealed under another key id as unknown_key_id, naming both ids", () => {
    const sealed = seal(SecretKey.generate("k7"), Buffer.from("x"), AAD);
    expect(() => open(key, sealed, AAD)).toThrow(expect.objectContaining({ code: "unknown_key_id", message: expect.stringContaining("k7") }));
  });

  it.each([
    ["an empty string", ""],
    ["empty bytes", new Uint8Array(0)],
    ["undefined", undefined],
    ["null", null],
  ])("refuses %s as associated data on seal and on open", (_name, aad) => {
    const bad = aad as unknown as string;
    expect(codeOf(() => seal(key, Buffer.from("x"), bad))).toBe("aad_required");
    const sealed = seal(key, Buffer.from("x"), AAD);
    expect(codeOf(() => open(key, sealed, bad))).toBe("aad_required");
  });
});

describe("tampering", () => {
  const plaintext = Buffer.from("thirty-two bytes of plaintext!!!");
  const sealed = seal(key, plaintext, AAD);
  const headerLength = 2 + key.id.length;

  it("fails to open after any single byte changes, in header, nonce, ciphertext or tag", () => {
    const codes = new Map<number, CryptoErrorCode | "no error">();
    for (let position = 0; position < sealed.length; position++) {
      for (const flip of [0x01, 0x80]) {
        const altered = Buffer.from(sealed);
        altered[position] = (altered[position] ?? 0) ^ flip;
        const code = codeOf(() => open(key, altered, AAD));
        codes.set(position, code);
        if (position >= headerLength) {
          // nonce, ciphertext and tag: caught by the GCM tag
          expect(code, `byte ${position} ^ ${flip}`).toBe("decrypt_failed");
        } else {
          // header: refused before decryption is attempted
          expect(["malformed_ciphertext", "unknown_key_id"], `byte ${position} ^ ${flip}`).toContain(code);
        }
      }
    }
    expect(codes.size).toBe(sealed.length);
    expect(open(key, sealed, AAD).equals(plaintext)).toBe(true);
  });

  it("authenticates the key id in the header: renaming it to another id with the same bytes fails", () => {
    const twin = SecretKey.fromBytes("k2", key.exportBytes());
    const renamed = Buffer.from(sealed);
    renamed.write("k2", 2, "latin1");
    expect(sealedKeyId(renamed)).toBe("k2");
    expect(codeOf(() => open(twin, renamed, AAD))).toBe("decrypt_failed");
    expect(open(twin, seal(twin, plaintext, AAD), AAD).equals(plaintext)).toBe(true);
  });

  it("fails to open when 1 to 15 trailing tag bytes are removed", () => {
    // The tag is always the last 16 bytes, so a shortened blob is never read
    // as a blob with a shorter tag; authTagLength: 16 guards the same line.
    for (let removed = 1; removed <= 15; removed++) {
      const truncated = sealed.subarray(0, sealed.length - removed);
      expect(codeOf(() => open(key, truncated, AAD)), `${removed} bytes removed`).toBe("decrypt_failed");
    }
  });

  it("reports a blob too short for header, nonce and tag as malformed", () => {
    const empty = seal(key, new Uint8Array(0), AAD);
    expect(codeOf(() => open(key, empty.subarray(0, empty.length - 1), AAD))).toBe("malformed_ciphertext");
    expect(codeOf(() => open(key, new Uint8Array(0), AAD))).toBe("malformed_ciphertext");
    expect(codeOf(() => open(key, new Uint8Array([1]), AAD))).toBe("malformed_ciphertext");
  });

  it("reports an unknown format version as malformed", () => {
    const altered = Buffer.from(sealed);
    altered[0] = 0x02;
    expect(codeOf(() => open(key, altered, AAD))).toBe("malformed_ciphertext");
    expect(codeOf(() => sealedKeyId(altered))).toBe("malformed_ciphertext");
  });

  it("reports a header with an invalid key id as malformed when reading its key id", () => {
    expect(codeOf(() => sealedKeyId(Buffer.from("garbage that is long enough to not be short....")))).toBe("malformed_ciphertext");
    const badId = Buffer.from(sealed);
    badId[2] = ":".charCodeAt(0);
    expect(codeOf(() => sealedKeyId(badId))).toBe("malformed_ciphertext");
  });
});

describe("nonces", () => {
  it("uses a fresh nonce for each of 100,000 seals", () => {
    const count = 100_000;
    const nonces = new Set<string>();
    const plaintext = new Uint8Array(0);
    const start = 2 + key.id.length;
    for (let i = 0; i < count; i++) {
      nonces.add(seal(key, plaintext, AAD).toString("hex", start, start + 12));
    }
    expect(nonces.size).toBe(count);
  });
});
