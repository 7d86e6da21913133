import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finished, listeningUrl, runCli, startCli, bootstrapToken } from "./support/cli.ts";
import { createSoftHsm, softHsmAvailable, type SoftHsm } from "./support/softhsm.ts";

describe.runIf(softHsmAvailable())("switchyard serve with the master key in a PKCS#11 token (SoftHSM2)", () => {
  let hsm: SoftHsm;
  let scratch: string;
  beforeAll(async () => {
    hsm = await createSoftHsm({ keyLabels: ["master-1"] });
    scratch = await mkdtemp(join(tmpdir(), "sy-pkcs11-start-"));
    await writeFile(join(scratch, "wrong-pin"), "1111-2222\n", { mode: 0o600 });
  });
  afterAll(async () => {
    await hsm?.remove();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const refusals = (): { name: string; env: Record<string, string>; message: RegExp }[] => [
    { name: "a missing module", env: { SWITCHYARD_PKCS11_MODULE: join(scratch, "libnothing.so") }, message: /SWITCHYARD_PKCS11_MODULE: no PKCS#11 module at .*libnothing\.so/ },
    { name: "a missing token", env: { SWITCHYARD_PKCS11_TOKEN_LABEL: "not-this-token" }, message: /no PKCS#11 token labelled "not-this-token" \(SWITCHYARD_PKCS11_TOKEN_LABEL\)/ },
    { name: "a missing key", env: { SWITCHYARD_PKCS11_KEY_LABEL: "master-9" }, message: /holds no secret key labelled "master-9" \(SWITCHYARD_PKCS11_KEY_LABEL\)/ },
    { name: "a wrong PIN", env: { SWITCHYARD_PKCS11_PIN_FILE: join(scratch, "wrong-pin") }, message: /refused the PIN in SWITCHYARD_PKCS11_PIN_FILE \(CKR_PIN_INCORRECT\)/ },
    { name: "an unreadable PIN file", env: { SWITCHYARD_PKCS11_PIN_FILE: join(scratch, "no-pin-file") }, message: /SWITCHYARD_PKCS11_PIN_FILE: cannot read .* \(ENOENT\)/ },
    { name: "half a configuration", env: { SWITCHYARD_PKCS11_KEY_LABEL: "", SWITCHYARD_PKCS11_PIN_FILE: "" }, message: /SWITCHYARD_PKCS11_KEY_LABEL, SWITCHYARD_PKCS11_PIN_FILE: needed with/ },
  ];
  const messages = new Map<string, string>();

  it("refuses the start for a missing module, token or key and a wrong PIN, each with its own message, before any database work", async () => {
    for (const { name, env, message } of refusals()) {
      const dataDir = join(scratch, `data-${name.replaceAll(" ", "-")}`);
      // An unreachable DATABASE_URL proves the key check comes first: the error is about the token.
      const result = await runCli(["serve", "--port", "0"], {
        ...hsm.switchyardEnv("master-1"),
        ...env,
        SWITCHYARD_DATA_DIR: dataDir,
        DATABASE_URL: "postgres://postgres@127.0.0.1:1/never",
      });
      expect(result.code, name).toBe(78);
      expect(result.stderr, name).toMatch(message);
      expect(result.stderr, name).not.toMatch(/ECONNREFUSED|database/i);
      expect(`${result.stdout}${result.stderr}`, name).not.toContain(hsm.pin);
      expect(existsSync(dataDir), name).toBe(false);
      messages.set(name, result.stderr.trim());
    }
    expect(new Set(messages.values()).size).toBe(refusals().length);
  }, 60_000);

  it("warns at start when the PIN file is readable by group or others", async () => {
    const pinFile = join(scratch, "open-pin");
    await writeFile(pinFile, `${hsm.pin}\n`);
    await chmod(pinFile, 0o644);
    const server = startCli(["serve", "--port", "0"], { ...hsm.switchyardEnv("master-1"), SWITCHYARD_PKCS11_PIN_FILE: pinFile, SWITCHYARD_DATA_DIR: join(scratch, "data-open-pin") });
    try {
      await listeningUrl(server);
      expect(server.output.stdout).toMatch(/SWITCHYARD_PKCS11_PIN_FILE .*open-pin is readable by others \(mode 644\): chmod 600 it/);
      expect(server.output.stdout).not.toContain(hsm.pin);
    } finally {
      server.kill("SIGTERM");
      expect((await finished(server)).code).toBe(0);
    }
  });

  it("starts with the HSM alone (no environment key) and keeps secrets it can read back after a restart", async () => {
    const env = { ...hsm.switchyardEnv("master-1"), SWITCHYARD_DATA_DIR: join(scratch, "data-ok") };
    const reveal = async (url: string, token: string, appId: string) =>
      (await (await fetch(`${url}/api/v1/admin/apps/${appId}/secrets/API_KEY/reveal`, { method: "POST", headers: { authorization: `Bearer ${token}` } })).json()) as { value: unknown };
    const first = startCli(["serve", "--port", "0"], env);
    let token: string;
    let appId: string;
    try {
      const url = await listeningUrl(first);
      token = await bootstrapToken(first);
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      appId = ((await (await fetch(`${url}/api/v1/admin/apps`, { method: "POST", headers, body: JSON.stringify({ name: "hsm-app" }) })).json()) as { id: string }).id;
      const value = `sk_${randomBytes(8).toString("hex")}`;
      expect((await fetch(`${url}/api/v1/admin/apps/${appId}/secrets`, { method: "POST", headers, body: JSON.stringify({ name: "API_KEY", value }) })).status).toBe(201);
      expect((await reveal(url, token, appId)).value).toBe(value);
    } finally {
      first.kill("SIGTERM");
      expect((await finished(first)).code).toBe(0);
    }
    const again = startCli(["serve", "--port", "0"], env);
    try {
      const url = await listeningUrl(again);
      expect(String((await reveal(url, token, appId)).value)).toMatch(/^sk_/);
    } finally {
      again.kill("SIGTERM");
      await finished(again);
    }
  }, 90_000);
});
