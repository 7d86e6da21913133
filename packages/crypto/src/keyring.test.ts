import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { encodeHeader, open, seal, sealedKeyId } from "./aead.ts";
import { CryptoError } from "./errors.ts";
import { environmentKey, type KeyEncryptionProvider } from "./key-encryption.ts";
import { generateMasterKey, Keyring } from "./keyring.ts";
import { parseKeyring } from "./parse-keyring.ts";
import { printedForms } from "./printed-forms.test-helper.ts";
import { SecretKey } from "./secret-key.ts";

const AAD = "data-key:app/42:dk1";

describe("Keyring", () => {
  const k1 = SecretKey.generate("k1");
  const k2 = SecretKey.generate("k2");

  it("wraps with the first (active) key", async () => {
    const keyring = Keyring.fromKeys([k2, k1]);
    expect(keyring.activeId).toBe("k2");
    expect(keyring.ids).toEqual(["k2", "k1"]);
    expect(sealedKeyId(await keyring.wrap(Buffer.from("x"), AAD))).toBe("k2");
  });

  it("unwraps blobs wrapped by an older, non-active key", async () => {
    const before = Keyring.fromKeys([k1]);
    const sealed = await before.wrap(Buffer.from("old secret"), AAD);
    const after = Keyring.fromKeys([k2, k1]);
    expect((await after.unwrap(sealed, AAD)).toString()).toBe("old secret");
  });

  it("wraps an environment key's blob exactly as seal does, so rows written before providers existed still open", async () => {
    const keyring = Keyring.fromKeys([k1]);
    expect((await keyring.unwrap(seal(k1, Buffer.from("before"), AAD), AAD)).toString()).toBe("before");
    expect(open(k1, await keyring.wrap(Buffer.from("after"), AAD), AAD).toString()).toBe("after");
  });

  it("reports a blob under a key it does not hold as unknown_key_id, naming the id", async () => {
    const sealed = seal(SecretKey.generate("retired"), Buffer.from("x"), AAD);
    const keyring = Keyring.fromKeys([k2, k1]);
    await expect(keyring.unwrap(sealed, AAD)).rejects.toThrow(
      expect.objectContaining({ name: "CryptoError", code: "unknown_key_id", message: expect.stringContaining("retired") }),
    );
  });

  it("fails to unwrap with other associated data", async () => {
    const keyring = Keyring.fromKeys([k1]);
    const sealed = await keyring.wrap(Buffer.from("x"), AAD);
    await expect(keyring.unwrap(sealed, "data-key:app/43:dk1")).rejects.toThrow(expect.objectContaining({ code: "decrypt_failed" }));
  });

  it("routes each blob to the provider its header names, and can make any of its keys the active one", async () => {
    // A provider of another kind, standing in for an HSM: the same blob layout under a provider id.
    const hsmKey = SecretKey.generate("hsm_backing");
    const hsm: KeyEncryptionProvider = {
      id: "test:hsm-1",
      kind: "test",
      wrap: async (plaintext, aad) => {
        const header = encodeHeader("test:hsm-1");
        const inner = seal(hsmKey, plaintext, Buffer.concat([header, aad]));
        return Buffer.concat([header, inner]);
      },
      unwrap: async (wrapped, aad) => {
        const header = encodeHeader("test:hsm-1");
        return open(hsmKey, Buffer.from(wrapped).subarray(header.length), Buffer.concat([header, aad]));
      },
    };
    const keyring = Keyring.fromProviders([hsm, ...[k1].map(environmentKey)]);
    const underHsm = await keyring.wrap(Buffer.from("in the token"), AAD);
    expect(sealedKeyId(underHsm)).toBe("test:hsm-1");
    expect(keyring.kindOf("test:hsm-1")).toBe("test");
    expect(keyring.kindOf("k1")).toBe("environment");
    const toEnvironment = keyring.withActive("k1");
    expect(toEnvironment.activeId).toBe("k1");
    expect((await toEnvironment.unwrap(underHsm, AAD)).toString()).toBe("in the token");
    expect(sealedKeyId(await toEnvironment.wrap(Buffer.from("x"), AAD))).toBe("k1");
    expect(() => keyring.withActive("k9")).toThrow(expect.objectContaining({ code: "unknown_key_id" }));
    expect(() => Keyring.fromProviders([hsm, hsm])).toThrow(expect.objectContaining({ code: "invalid_key" }));
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
