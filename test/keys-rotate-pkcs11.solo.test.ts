import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { eq, sql } from "drizzle-orm";
import { createDataKeyStore, type ScopeRef } from "@switchyard/core";
import { encodeHeader, Keyring, open, parseKeyring, parseSealed, seal, SecretKey } from "@switchyard/crypto";
import { connect, dataKeys } from "@switchyard/db";
import { openPkcs11Token, type Pkcs11Token } from "@switchyard/pkcs11";
import { finished, runCli, startCli } from "./support/cli.ts";
import { createPostgresDatabase, itPostgres, postgresAvailable, type PostgresDatabase } from "./support/databases.ts";
import { urlFor, withAdmin } from "./support/postgres-admin.ts";
import { createSoftHsm, softHsmAvailable, type SoftHsm } from "./support/softhsm.ts";

// Thousands of HSM operations and a SIGKILLed child: runs in the solo phase.
const COUNT = 3000;
const envKey = randomBytes(32).toString("base64");
const environmentOnly = (): Keyring => {
  const parsed = parseKeyring({ masterKey: envKey });
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
};

describe.runIf(postgresAvailable() && softHsmAvailable())("switchyard keys rotate between the environment and a PKCS#11 token (SoftHSM2)", () => {
  let pg: PostgresDatabase;
  let hsm: SoftHsm;
  let token: Pkcs11Token;
  const scopes: ScopeRef[] = Array.from({ length: COUNT }, (_, i) => ({ scope: "app", scopeId: `app_${i}` }));
  const sealed = new Map<string, Buffer>();
  // What a reader holds during the move: the token's keys and the environment key.
  const both = () => Keyring.fromProviders([...token.keys, ...environmentOnly().providers]);

  const readable = async (keyring: Keyring, refs: ScopeRef[], database = pg.database) => {
    // A fresh store per pass: every data key is unwrapped again, none served from a cache.
    const store = createDataKeyStore({ keyring });
    for (const ref of refs) {
      const key = await store.find(database.db, ref);
      expect(open(key!, sealed.get(ref.scopeId)!, `value|${ref.scopeId}`).toString()).toBe(`secret-${ref.scopeId}`);
    }
  };
  const countUnder = async (id: string) =>
    (await pg.database.db.select({ n: sql<number>`count(*)::int` }).from(dataKeys).where(eq(dataKeys.masterKeyId, id)))[0]!.n;

  beforeAll(async () => {
    hsm = await createSoftHsm({ keyLabels: ["master-1", "master-2"] });
    token = openPkcs11Token({ module: hsm.module, tokenLabel: hsm.tokenLabel, keyLabels: ["master-1", "master-2"], pin: hsm.pin });
    pg = await createPostgresDatabase();
    const store = createDataKeyStore({ keyring: environmentOnly() });
    for (const ref of scopes) {
      const key = await store.getOrCreate(pg.database.db, ref);
      sealed.set(ref.scopeId, seal(key, Buffer.from(`secret-${ref.scopeId}`), `value|${ref.scopeId}`));
    }
  }, 180_000);
  afterAll(async () => {
    token?.close();
    await pg?.drop();
    await hsm?.remove();
  });

  itPostgres("moves 3,000 data keys from the environment key into the HSM: SIGKILLed half way and run again, every secret stays readable at every point", async () => {
    const env = { DATABASE_URL: pg.url, SWITCHYARD_MASTER_KEY: envKey, ...hsm.switchyardEnv("master-1") };
    const child = startCli(["keys", "rotate", "--to", "pkcs11", "--no-backup"], env);
    // While it runs, a reader keeps opening a spread of secrets; then it is killed part way.
    let passes = 0;
    for (;;) {
      const done = await countUnder("pkcs11:master-1");
      if (done > COUNT / 10 && done < COUNT * 0.9) break;
      if (done === COUNT || child.exitCode !== null) throw new Error(`rotation finished before it could be killed\n${child.output.stderr}`);
      await readable(both(), scopes.filter((_, i) => i % 97 === passes % 97));
      passes += 1;
    }
    child.kill("SIGKILL");
    expect((await finished(child)).signal).toBe("SIGKILL");
    const partial = await countUnder("pkcs11:master-1");
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(COUNT);
    expect(await countUnder("k1")).toBe(COUNT - partial);
    await readable(both(), scopes);

    const rerun = await runCli(["keys", "rotate", "--to", "pkcs11", "--json", "--no-backup"], env);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(JSON.parse(rerun.stdout)).toEqual({
      target: { id: "pkcs11:master-1", provider: "pkcs11" },
      dry_run: false,
      already_current: partial,
      rewrapped: COUNT - partial,
      from: [{ id: "k1", provider: "environment", count: COUNT - partial }],
      failed: [],
    });
    expect(await countUnder("pkcs11:master-1")).toBe(COUNT);
    // The environment key can go: the token alone opens everything.
    await readable(Keyring.fromProviders(token.keys), scopes);
  }, 180_000);

  itPostgres("a database dump plus the environment's master key opens nothing once the HSM holds the key", async () => {
    const dump = execFileSync("pg_dump", ["--no-owner", "--no-privileges", pg.url], { maxBuffer: 256 * 1024 * 1024 });
    const name = `sy_test_dump_${randomBytes(4).toString("hex")}`;
    await withAdmin((admin) => admin.unsafe(`create database "${name}"`));
    const copy = await connect({ url: urlFor(name), poolSize: 2 });
    try {
      execFileSync("psql", ["-q", "-v", "ON_ERROR_STOP=1", urlFor(name)], { input: dump, stdio: ["pipe", "ignore", "pipe"] });
      const rows = await copy.db.select().from(dataKeys);
      expect(rows).toHaveLength(COUNT);
      expect(new Set(rows.map((r) => r.masterKeyId))).toEqual(new Set(["pkcs11:master-1"]));
      const k1 = SecretKey.fromBytes("k1", Buffer.from(envKey, "base64"));
      const store = createDataKeyStore({ keyring: environmentOnly() });
      for (const row of rows) {
        const ref = { scope: row.scope, scopeId: row.scopeId };
        await expect(store.find(copy.db, ref)).rejects.toThrow(expect.objectContaining({ code: "unknown_key_id" }));
        // Even told the blob is its own, the environment key does not open it: the bytes were sealed in the token.
        const parts = parseSealed(row.wrapped);
        const asIfK1 = Buffer.concat([encodeHeader("k1"), parts.nonce, parts.ciphertext, parts.tag]);
        expect(() => open(k1, asIfK1, `switchyard/data-key/v1|${row.id}|${row.scope}|${row.scopeId}`)).toThrow(expect.objectContaining({ code: "decrypt_failed" }));
      }
      // And the command line, given only the environment key, cannot move a single one back.
      const back = await runCli(["keys", "rotate", "--to", "environment", "--no-backup"], { DATABASE_URL: urlFor(name), SWITCHYARD_MASTER_KEY: envKey });
      expect(back.code).toBe(1);
      expect(back.stderr).toContain(`${COUNT} data key(s) could not be re-wrapped`);
    } finally {
      await copy.close();
      await withAdmin((admin) => admin.unsafe(`drop database if exists "${name}" with (force)`));
    }
  }, 180_000);

  itPostgres("moves every data key from one HSM key to another, and a dry run first changes nothing", async () => {
    const env = { DATABASE_URL: pg.url, ...hsm.switchyardEnv("master-2,master-1") };
    const dry = await runCli(["keys", "rotate", "--dry-run"], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`would re-wrap ${COUNT} data key(s)`);
    expect(dry.stdout).toContain(`from pkcs11:master-1 (pkcs11): ${COUNT}`);
    expect(await countUnder("pkcs11:master-1")).toBe(COUNT);
    const moved = await runCli(["keys", "rotate", "--no-backup"], env);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toContain("active master key: pkcs11:master-2 (pkcs11)");
    expect(await countUnder("pkcs11:master-2")).toBe(COUNT);
    const onlyKey2 = openPkcs11Token({ module: hsm.module, tokenLabel: hsm.tokenLabel, keyLabels: ["master-2"], pin: hsm.pin });
    try {
      await readable(Keyring.fromProviders(onlyKey2.keys), scopes);
    } finally {
      onlyKey2.close();
    }
  }, 180_000);
});
