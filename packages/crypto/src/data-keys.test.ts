import { describe, expect, it } from "vitest";
import { open, seal, sealedKeyId } from "./aead.ts";
import { generateDataKey, unwrapDataKey, wrapDataKey } from "./data-keys.ts";
import { Keyring } from "./keyring.ts";
import { SecretKey } from "./secret-key.ts";

const AAD = "data-key:app/42:dk_1";

describe("data keys", () => {
  const k1 = SecretKey.generate("k1");
  const keyring = Keyring.fromKeys([k1]);

  it("round-trips through wrap and unwrap, keeping the bytes and taking the given id", async () => {
    const dataKey = generateDataKey("dk_1");
    const wrapped = await wrapDataKey(keyring, dataKey, AAD);
    const unwrapped = await unwrapDataKey(keyring, "dk_1", wrapped, AAD);
    expect(unwrapped.id).toBe("dk_1");
    expect(unwrapped.exportBytes().equals(dataKey.exportBytes())).toBe(true);
  });

  it("names the master key that wrapped it and never shows the data key bytes", async () => {
    const dataKey = generateDataKey("dk_1");
    const wrapped = await wrapDataKey(keyring, dataKey, AAD);
    expect(sealedKeyId(wrapped)).toBe("k1");
    expect(wrapped.includes(dataKey.exportBytes())).toBe(false);
  });

  it("refuses to unwrap with other associated data", async () => {
    const wrapped = await wrapDataKey(keyring, generateDataKey("dk_1"), AAD);
    await expect(unwrapDataKey(keyring, "dk_1", wrapped, "data-key:app/43:dk_1")).rejects.toThrow(
      expect.objectContaining({ code: "decrypt_failed" }),
    );
  });

  it("refuses to unwrap under a keyring without the wrapping key", async () => {
    const wrapped = await wrapDataKey(keyring, generateDataKey("dk_1"), AAD);
    const stranger = Keyring.fromKeys([SecretKey.generate("k9")]);
    await expect(unwrapDataKey(stranger, "dk_1", wrapped, AAD)).rejects.toThrow(expect.objectContaining({ code: "unknown_key_id" }));
  });

  it("survives master key rotation by re-wrapping the data key only; secrets sealed with it stay as they are", async () => {
    const dataKey = generateDataKey("dk_1");
    const wrappedUnderK1 = await wrapDataKey(keyring, dataKey, AAD);
    const secret = seal(dataKey, Buffer.from("postgres://user:pw@db"), "secret:app/42:DATABASE_URL");

    // Rotation: k2 becomes active while k1 still opens; re-wrap, then retire k1.
    const k2 = SecretKey.generate("k2");
    const rotating = Keyring.fromKeys([k2, k1]);
    const rewrapped = await wrapDataKey(rotating, await unwrapDataKey(rotating, "dk_1", wrappedUnderK1, AAD), AAD);
    expect(sealedKeyId(rewrapped)).toBe("k2");

    const retired = Keyring.fromKeys([k2]);
    const dataKeyAgain = await unwrapDataKey(retired, "dk_1", rewrapped, AAD);
    expect(open(dataKeyAgain, secret, "secret:app/42:DATABASE_URL").toString()).toBe("postgres://user:pw@db");
    await expect(unwrapDataKey(retired, "dk_1", wrappedUnderK1, AAD)).rejects.toThrow(expect.objectContaining({ code: "unknown_key_id" }));
  });
});
