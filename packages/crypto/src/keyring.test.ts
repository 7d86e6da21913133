import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { seal, sealedKeyId } from "./aead.ts";
import { CryptoError } from "./errors.ts";
import { generateMasterKey, Keyring } from "./keyring.ts";
import { parseKeyring } from "./parse-keyring.ts";
import { printedForms } from "./printed-forms.test-helper.ts";
import { SecretKey } from "./secret-key.ts";

const AAD = "data-key:app/42:dk1";

describe("Keyring", () => {
  const k1 = SecretKey.generate("k1");
  const k2 = SecretKey.generate("k2");

  it("seals with the first (active) key", () => {
    const keyring = Keyring.fromKeys([k2, k1]);
    expect(keyring.activeId).toBe("k2");
    expect(keyring.ids).toEqual(["k2", "k1"]);
    expect(sealedKeyId(keyring.seal(Buffer.from("x"), AAD))).toBe("k2");
  });

  it("opens blobs sealed by an older, non-active key", () => {
    const before = Keyring.fromKeys([k1]);
    const sealed = before.seal(Buffer.from("old secret"), AAD);
    const after = Keyring.fromKeys([k2, k1]);
    expect(after.open(sealed, AAD).toString()).toBe("old secret");
  });

  it("reports a blob under a key it does not hold as unknown_key_id, naming the id", () => {
    const sealed = seal(SecretKey.generate("retired"), Buffer.from("x"), AAD);
    const keyring = Keyring.fromKeys([k2, k1]);
    expect(() => keyring.open(sealed, AAD)).toThrow(
      expect.objectContaining({ name: "CryptoError", code: "unknown_key_id", message: expect.stringContaining("retired") }),
    );
  });

  it("fails to open with other associated data", () => {
    const keyring = Keyring.fromKeys([k1]);
    const sealed = keyring.seal(Buffer.from("x"), AAD);
    expect(() => keyring.open(sealed, "data-key:app/43:dk1")).toThrow(expect.objectContaining({ code: "decrypt_failed" }));
  });

  it("says which ids it holds", () => {
    const keyring = Keyring.fromKeys([k2, k1]);
    expect(keyring.has("k1")).toBe(true);
    expect(keyring.has("k2")).toBe(true);
    expect(keyring.has("k3")).toBe(false);
  });

  it("refuses to be built from no keys or from two keys with one id", () => {
    expect(() => Keyring.fromKeys([])).toThrow(CryptoError);
    expect(() => Keyring.fromKeys([k1, SecretKey.generate("k1")])).toThrow(expect.objectContaining({ code: "invalid_key" }));
  });

  it("prints its ids and never its key bytes", () => {
    const keyring = Keyring.fromKeys([k2, k1]);
    expect(JSON.parse(JSON.stringify(keyring))).toEqual({ activeId: "k2", ids: ["k2", "k1"] });
    expect(inspect(keyring)).toContain("k2");
    expect(String(keyring)).toContain("k1");
    for (const key of [k1, k2]) {
      const bytes = key.exportBytes();
      for (const text of printedForms(keyring)) {
        expect(text).not.toContain(bytes.toString("base64"));
        expect(text).not.toContain(bytes.toString("base64").slice(0, 12));
        expect(text).not.toContain(bytes.toString("hex"));
        expect(text).not.toContain(bytes.toString("hex").slice(0, 16));
      }
    }
  });
});

describe("generateMasterKey", () => {
  it("gives base64 of 32 fresh random bytes that parseKeyring accepts", () => {
    const a = generateMasterKey();
    const b = generateMasterKey();
    expect(a).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a, "base64").length).toBe(32);
    expect(a).not.toBe(b);
    expect(parseKeyring({ masterKey: a }).ok).toBe(true);
  });
});
