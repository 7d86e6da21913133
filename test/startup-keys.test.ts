import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./support/cli.ts";

const zeros = Buffer.alloc(32).toString("base64");
const short = Buffer.alloc(16, 7).toString("base64");
const good = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 255)).toString("base64");
const docsExample = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

// Each bad form of the master key settings, with a fragment of the message it must produce.
const cases: { name: string; env: Record<string, string>; message: RegExp; secrets: string[] }[] = [
  { name: "missing key outside dev mode", env: {}, message: /SWITCHYARD_MASTER_KEY.*(not set|missing|required)/i, secrets: [] },
  { name: "malformed base64", env: { SWITCHYARD_MASTER_KEY: "not*base64!!" }, message: /SWITCHYARD_MASTER_KEY.*base64/i, secrets: ["not*base64!!"] },
  { name: "wrong length", env: { SWITCHYARD_MASTER_KEY: short }, message: /SWITCHYARD_MASTER_KEY.*16 bytes/i, secrets: [short, Buffer.from(short, "base64").toString("hex")] },
  { name: "all-zero key", env: { SWITCHYARD_MASTER_KEY: zeros }, message: /weak|zero|same/i, secrets: [zeros] },
  { name: "the key from our docs", env: { SWITCHYARD_MASTER_KEY: docsExample }, message: /weak|documentation|example/i, secrets: [docsExample] },
  { name: "keyring entry without an id", env: { SWITCHYARD_MASTER_KEYS: good }, message: /SWITCHYARD_MASTER_KEYS/, secrets: [good] },
  { name: "keyring with a repeated id", env: { SWITCHYARD_MASTER_KEYS: `a:${good},a:${good}` }, message: /SWITCHYARD_MASTER_KEYS.*(duplicate|repeat|twice|more than once)/i, secrets: [good] },
  { name: "keyring entry of the wrong length", env: { SWITCHYARD_MASTER_KEYS: `a:${good},b:${short}` }, message: /SWITCHYARD_MASTER_KEYS.*16 bytes/i, secrets: [good, short] },
  { name: "both variables set", env: { SWITCHYARD_MASTER_KEY: good, SWITCHYARD_MASTER_KEYS: `a:${good}` }, message: /both|either|not both|one of/i, secrets: [good] },
];

describe("start with bad master keys", () => {
  const messages = new Map<string, string>();

  it.concurrent.each(cases)("$name: exits non-zero with its own message, no key bytes, before any database work", async ({ name, env, message, secrets }) => {
    const dataDir = join(await mkdtemp(join(tmpdir(), "sy-keys-")), "data");
    // An unreachable DATABASE_URL proves the key check comes first: the error is about the key.
    const result = await runCli(["serve", "--port", "0"], {
      ...env,
      SWITCHYARD_DATA_DIR: dataDir,
      DATABASE_URL: "postgres://postgres@127.0.0.1:1/never",
    });
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(message);
    messages.set(name, result.stderr.trim());
    for (const secret of secrets) {
      expect(result.stderr).not.toContain(secret);
      expect(result.stdout).not.toContain(secret);
    }
    expect(existsSync(dataDir)).toBe(false);
  });

  it("gives each bad form a different message", () => {
    expect(messages.size).toBe(cases.length);
    expect(new Set(messages.values()).size).toBe(cases.length);
  });

  it("names an invalid variable and what is wrong with it", async () => {
    const result = await runCli(["serve"], { SWITCHYARD_PORT: "eighty", SWITCHYARD_MASTER_KEY: good });
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/SWITCHYARD_PORT: must be a whole number/);
  });
});
