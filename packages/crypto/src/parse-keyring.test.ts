import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseKeyring, type KeyringErrorCode, type KeyringInput } from "./parse-keyring.ts";
import { DOCUMENTED_EXAMPLE_KEYS } from "./weak-keys.ts";

const good = randomBytes(32).toString("base64");
const other = randomBytes(32).toString("base64");
const short = randomBytes(16).toString("base64");
const long = randomBytes(33).toString("base64");
const zeros = Buffer.alloc(32).toString("base64");
const sevens = Buffer.alloc(32, 7).toString("base64");
// Valid alphabet and length, but the last character carries a stray bit: its
// two low bits fall past the 32nd byte and are zero in canonical base64.
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const nonCanonical = `${good.slice(0, 42)}${ALPHABET[ALPHABET.indexOf(good.charAt(42)) + 1]}=`;

function parsed(input: KeyringInput) {
  const result = parseKeyring(input);
  if (!result.ok) throw new Error(`expected a keyring, got ${result.error.code}: ${result.error.message}`);
  return result.value;
}

/** Asserts the message carries no key, whole or in part, in base64 or hex. */
function expectNoKeyMaterial(message: string, keys: string[]) {
  for (const key of keys) {
    const forms = [key, Buffer.from(key, "base64").toString("hex"), Buffer.from(key, "base64").toString("base64")];
    for (const form of forms.filter((f) => f.length >= 12)) {
      for (let i = 0; i + 12 <= form.length; i++) {
        expect(message, `leaks ${form.slice(i, i + 12)}`).not.toContain(form.slice(i, i + 12));
      }
    }
  }
}

describe("parseKeyring refusals", () => {
  const cases: Array<{ name: string; input: KeyringInput; code: KeyringErrorCode; variable: string; mentions?: string; keys?: string[] }> = [
    { name: "neither variable set", input: {}, code: "missing_key", variable: "SWITCHYARD_MASTER_KEY" },
    { name: "both variables empty", input: { masterKey: "", masterKeys: "" }, code: "missing_key", variable: "SWITCHYARD_MASTER_KEY" },
    {
      name: "both variables set",
      input: { masterKey: good, masterKeys: `k2:${other}` },
      code: "conflicting_key_settings",
      variable: "SWITCHYARD_MASTER_KEYS",
      mentions: "SWITCHYARD_MASTER_KEY and SWITCHYARD_MASTER_KEYS",
      keys: [good, other],
    },
    { name: "a trailing newline", input: { masterKey: `${good}\n` }, code: "malformed_key", variable: "SWITCHYARD_MASTER_KEY", mentions: "whitespace", keys: [good] },
    { name: "a space inside", input: { masterKey: `${good.slice(0, 20)} ${good.slice(20)}` }, code: "malformed_key", variable: "SWITCHYARD_MASTER_KEY", mentions: "whitespace", keys: [good] },
    {
      name: "url-safe characters",
      input: { masterKey: Buffer.from(Array.from({ length: 32 }, () => 0xfb)).toString("base64url") },
      code: "malformed_key",
      variable: "SWITCHYARD_MASTER_KEY",
      mentions: "url-safe",
    },
    { name: "garbage", input: { masterKey: "%%not*base64%%" }, code: "malformed_key", variable: "SWITCHYARD_MASTER_KEY", mentions: "alphabet" },
    { name: "bad padding", input: { masterKey: `${good}==` }, code: "malformed_key", variable: "SWITCHYARD_MASTER_KEY", mentions: "padding", keys: [good] },
    { name: "non-canonical base64", input: { masterKey: nonCanonical }, code: "malformed_key", variable: "SWITCHYARD_MASTER_KEY", mentions: "canonical", keys: [good] },
    { name: "16 bytes", input: { masterKey: short }, code: "wrong_key_length", variable: "SWITCHYARD_MASTER_KEY", mentions: "decodes to 16 bytes", keys: [short] },
    { name: "33 bytes", input: { masterKey: long }, code: "wrong_key_length", variable: "SWITCHYARD_MASTER_KEY", mentions: "decodes to 33 bytes", keys: [long] },
    { name: "all zero bytes", input: { masterKey: zeros }, code: "weak_key", variable: "SWITCHYARD_MASTER_KEY", keys: [zeros] },
    { name: "all bytes equal", input: { masterKey: sevens }, code: "weak_key", variable: "SWITCHYARD_MASTER_KEY", keys: [sevens] },
    { name: "an empty keyring entry", input: { masterKeys: `k1:${good},,k2:${other}` }, code: "malformed_keyring", variable: "SWITCHYARD_MASTER_KEYS", mentions: "entry 2", keys: [good, other] },
    { name: "a trailing comma", input: { masterKeys: `k1:${good},` }, code: "malformed_keyring", variable: "SWITCHYARD_MASTER_KEYS", mentions: "entry 2", keys: [good] },
    { name: "an entry without a colon", input: { masterKeys: `k1:${good},${other}` }, code: "malformed_keyring", variable: "SWITCHYARD_MASTER_KEYS", mentions: "entry 2", keys: [good, other] },
    { name: "an entry with an empty id", input: { masterKeys: `:${good}` }, code: "malformed_keyring", variable: "SWITCHYARD_MASTER_KEYS", mentions: "entry 1", keys: [good] },
    { name: "an entry with a bad id", input: { masterKeys: `k1:${good}, k2:${other}` }, code: "malformed_keyring", variable: "SWITCHYARD_MASTER_KEYS", mentions: "entry 2", keys: [good, other] },
    { name: "an entry with an empty key", input: { masterKeys: `k1:${good},k2:` }, code: "malformed_key", variable: "SWITCHYARD_MASTER_KEYS", mentions: "entry k2", keys: [good] },
    { name: "an entry with bad base64", input: { masterKeys: `k1:${good},k2:${other.replace("=", "")}!` }, code: "malformed_key", variable: "SWITCHYARD_MASTER_KEYS", mentions: "entry k2", keys: [good, other] },
    { name: "an entry of the wrong length", input: { masterKeys: `k1:${good},k2:${short}` }, code: "wrong_key_length", variable: "SWITCHYARD_MASTER_KEYS", mentions: "entry k2 must be base64 of exactly 32 bytes; it decodes to 16 bytes", keys: [good, short] },
    { name: "a repeated id", input: { masterKeys: `k1:${good},k1:${other}` }, code: "duplicate_key_id", variable: "SWITCHYARD_MASTER_KEYS", mentions: "k1", keys: [good, other] },
    { name: "a weak entry", input: { masterKeys: `k1:${good},k0:${zeros}` }, code: "weak_key", variable: "SWITCHYARD_MASTER_KEYS", mentions: "entry k0", keys: [good, zeros] },
  ];

  it.each(cases)("refuses $name with $code, naming the variable and no key material", ({ input, code, variable, mentions, keys }) => {
    const result = parseKeyring(input);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe(code);
    expect(result.error.variable).toBe(variable);
    expect(result.error.message).toContain(variable);
    if (mentions !== undefined) expect(result.error.message).toContain(mentions);
    const inputs = [input.masterKey, ...(input.masterKeys ?? "").split(/[,:]/)].filter((v): v is string => v !== undefined && v.length >= 12);
    expectNoKeyMaterial(result.error.message, [...(keys ?? []), ...inputs]);
  });

  it("gives every kind of bad key setting its own code", () => {
    const codes = new Set(cases.map((c) => c.code));
    expect([...codes].sort()).toEqual(
      ["conflicting_key_settings", "duplicate_key_id", "malformed_key", "malformed_keyring", "missing_key", "weak_key", "wrong_key_length"].sort(),
    );
  });
});

describe("parseKeyring weak keys", () => {
  it("includes the README example key (bytes 0..31) among the documented keys", () => {
    const readmeExample = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    expect(DOCUMENTED_EXAMPLE_KEYS).toContain(readmeExample);
    expect(Buffer.from(readmeExample, "base64")).toEqual(Buffer.from(Array.from({ length: 32 }, (_, i) => i)));
  });

  it.each([...DOCUMENTED_EXAMPLE_KEYS, zeros, sevens])("refuses %s without allowWeak and accepts it with allowWeak", (key) => {
    for (const input of [{ masterKey: key }, { masterKeys: `k1:${key}` }, { masterKey: key.replace(/=+$/, "") }]) {
      const refused = parseKeyring(input);
      expect(refused.ok ? "accepted" : refused.error.code).toBe("weak_key");
      if (!refused.ok) expectNoKeyMaterial(refused.error.message, [key]);
      expect(parseKeyring({ ...input, allowWeak: true }).ok).toBe(true);
    }
  });

  it("accepts a strong key whether or not allowWeak is set", () => {
    expect(parseKeyring({ masterKey: good }).ok).toBe(true);
    expect(parseKeyring({ masterKey: good, allowWeak: true }).ok).toBe(true);
  });
});

describe("parseKeyring keyrings", () => {
  it("gives SWITCHYARD_MASTER_KEY the id k1", () => {
    const keyring = parsed({ masterKey: good });
    expect(keyring.activeId).toBe("k1");
    expect(keyring.ids).toEqual(["k1"]);
  });

  it("accepts a key without its = padding as the same key", async () => {
    const sealed = await parsed({ masterKey: good }).wrap(Buffer.from("x"), "aad");
    expect((await parsed({ masterKey: good.replace(/=+$/, "") }).unwrap(sealed, "aad")).toString()).toBe("x");
  });

  it("makes the first SWITCHYARD_MASTER_KEYS entry active and opens with every entry", async () => {
    const before = parsed({ masterKeys: `a1:${other}` });
    const sealedByA1 = await before.wrap(Buffer.from("old"), "aad");
    const keyring = parsed({ masterKeys: `b2:${good},a1:${other}` });
    expect(keyring.activeId).toBe("b2");
    expect(keyring.ids).toEqual(["b2", "a1"]);
    expect((await keyring.unwrap(sealedByA1, "aad")).toString()).toBe("old");
  });

  it("keeps rows sealed under SWITCHYARD_MASTER_KEY openable after moving to a keyring with k1", async () => {
    const sealed = await parsed({ masterKey: good }).wrap(Buffer.from("row"), "aad");
    const rotated = parsed({ masterKeys: `k2:${other},k1:${good}` });
    expect((await rotated.unwrap(sealed, "aad")).toString()).toBe("row");
  });
});
