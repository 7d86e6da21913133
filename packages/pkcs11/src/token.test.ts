import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { environmentKey, generateDataKey, Keyring, open, seal, sealedKeyId, SecretKey, unwrapDataKey, wrapDataKey } from "@switchyard/crypto";
import { createSoftHsm, softHsmAvailable, type SoftHsm } from "../../../test/support/softhsm.ts";
import { openPkcs11Token, type Pkcs11Token } from "./token.ts";

const AAD = "switchyard/data-key/v1|dk_1|app|app_1";

describe.runIf(softHsmAvailable())("PKCS#11 key provider on SoftHSM2", () => {
  let hsm: SoftHsm;
  let token: Pkcs11Token;
  const options = () => ({ module: hsm.module, tokenLabel: hsm.tokenLabel, keyLabels: ["master-2", "master-1"], pin: hsm.pin });

  beforeAll(async () => {
    hsm = await createSoftHsm({ keyLabels: ["master-1", "master-2"] });
    token = openPkcs11Token(options());
  });
  afterAll(async () => {
    token?.close();
    await hsm?.remove();
  });

  it("seals and opens through the HSM: a data key wrapped in the token opens the secrets sealed with it", async () => {
    const keyring = Keyring.fromProviders(token.keys);
    expect(keyring.activeId).toBe("pkcs11:master-2");
    const dataKey = generateDataKey("dk_1");
    const secret = seal(dataKey, Buffer.from("postgres://app:pw@db"), "secret:app_1:DATABASE_URL");
    const wrapped = await wrapDataKey(keyring, dataKey, AAD);
    expect(sealedKeyId(wrapped)).toBe("pkcs11:master-2");
    expect(wrapped.includes(dataKey.exportBytes())).toBe(false);
    // Same layout as an environment key's blob: header, 12-byte IV, 32 bytes, 16-byte tag.
    expect(wrapped.length).toBe(2 + "pkcs11:master-2".length + 12 + 32 + 16);
    const again = await unwrapDataKey(keyring, "dk_1", wrapped, AAD);
    expect(open(again, secret, "secret:app_1:DATABASE_URL").toString()).toBe("postgres://app:pw@db");
  });

  it("refuses other associated data, an altered blob, and a blob of the token's other key under this key's id", async () => {
    const [active, older] = token.keys;
    const wrapped = await active!.wrap(Buffer.alloc(32, 7), Buffer.from(AAD));
    await expect(active!.unwrap(wrapped, Buffer.from(`${AAD}x`))).rejects.toThrow(expect.objectContaining({ code: "decrypt_failed" }));
    for (const at of [wrapped.length - 1, wrapped.length - 30, 20]) {
      const altered = Buffer.from(wrapped);
      altered[at]! ^= 1;
      await expect(active!.unwrap(altered, Buffer.from(AAD))).rejects.toThrow(expect.objectContaining({ code: "decrypt_failed" }));
    }
    await expect(older!.unwrap(wrapped, Buffer.from(AAD))).rejects.toThrow(expect.objectContaining({ code: "unknown_key_id" }));
    const byOlder = await older!.wrap(Buffer.alloc(32, 7), Buffer.from(AAD));
    const relabelled = Buffer.concat([wrapped.subarray(0, 17), byOlder.subarray(17)]);
    await expect(active!.unwrap(relabelled, Buffer.from(AAD))).rejects.toThrow(expect.objectContaining({ code: "decrypt_failed" }));
  });

  it("keeps one session right under many concurrent wraps and unwraps", async () => {
    const keyring = Keyring.fromProviders(token.keys);
    const keys = Array.from({ length: 200 }, (_, i) => generateDataKey(`dk_${i}`));
    const wrapped = await Promise.all(keys.map((k) => wrapDataKey(keyring, k, `aad|${k.id}`)));
    const unwrapped = await Promise.all(wrapped.map((w, i) => unwrapDataKey(keyring, `dk_${i}`, w, `aad|dk_${i}`)));
    unwrapped.forEach((k, i) => expect(k.exportBytes().equals(keys[i]!.exportBytes())).toBe(true));
  });

  it("sits in one keyring with environment keys: either opens what the other wrapped, and the id says which", async () => {
    const k1 = SecretKey.generate("k1");
    const underEnv = await Keyring.fromKeys([k1]).wrap(Buffer.alloc(32, 1), AAD);
    const mixed = Keyring.fromProviders([...token.keys, environmentKey(k1)]);
    const underHsm = await mixed.wrap(Buffer.alloc(32, 2), AAD);
    expect([sealedKeyId(underEnv), sealedKeyId(underHsm)]).toEqual(["k1", "pkcs11:master-2"]);
    expect(await mixed.unwrap(underEnv, AAD)).toEqual(Buffer.alloc(32, 1));
    expect(await mixed.withActive("k1").unwrap(underHsm, AAD)).toEqual(Buffer.alloc(32, 2));
    // Without the token, the environment key opens nothing the token wrapped.
    await expect(Keyring.fromKeys([k1]).unwrap(underHsm, AAD)).rejects.toThrow(expect.objectContaining({ code: "unknown_key_id" }));
  });

  it("refuses each unusable setting with its own code and message", async () => {
    // Login is per token and process: while another session is logged in a
    // token accepts any PIN (CKR_USER_ALREADY_LOGGED_IN), so this runs alone.
    token.close();
    const attempt = (patch: Record<string, unknown>) => {
      try {
        openPkcs11Token({ ...options(), ...patch }).close();
        return null;
      } catch (error) {
        return error as { code: string; message: string };
      }
    };
    const cases = {
      module_not_found: attempt({ module: `${hsm.dir}/no-such-module.so` }),
      module_unusable: attempt({ module: hsm.pinFile }),
      token_not_found: attempt({ tokenLabel: "no-such-token" }),
      pin_incorrect: attempt({ pin: "0000-0000" }),
      key_not_found: attempt({ keyLabels: ["master-2", "no-such-key"] }),
      invalid_options: attempt({ slot: 1 }),
    };
    for (const [code, error] of Object.entries(cases)) expect(error, code).toMatchObject({ code });
    expect(new Set(Object.values(cases).map((e) => e!.message)).size).toBe(Object.keys(cases).length);
    for (const error of Object.values(cases)) expect(error!.message).not.toContain(hsm.pin);
    expect(cases.token_not_found!.message).toContain(hsm.tokenLabel);
  });
});
