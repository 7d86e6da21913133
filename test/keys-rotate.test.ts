import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { open, parseKeyring, seal, type Keyring } from "@switchyard/crypto";
import { createDataKeyStore, type ScopeRef } from "@switchyard/core";
import { dataKeys } from "@switchyard/db";
import { eq, sql } from "drizzle-orm";
import { createPostgresDatabase, itPostgres, postgresAvailable, type PostgresDatabase } from "./support/databases.ts";
import { finished, runCli, startCli } from "./support/cli.ts";

const oldKey = randomBytes(32).toString("base64");
const newKey = randomBytes(32).toString("base64");
const keyringOf = (spec: string): Keyring => {
  const parsed = parseKeyring({ masterKeys: spec });
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
};
const COUNT = 3000;

describe.runIf(postgresAvailable())("switchyard keys rotate", () => {
  let pg: PostgresDatabase;
  const sealed = new Map<string, Buffer>();
  const scopes: ScopeRef[] = Array.from({ length: COUNT }, (_, i) => ({ scope: "app", scopeId: `app_${i}` }));

  // Values sealed under each scope's data key, as secrets will be.
  const everyValueOpens = async (keyring: Keyring) => {
    const store = createDataKeyStore({ keyring });
    for (const ref of scopes) {
      const key = await store.find(pg.database.db, ref);
      expect(open(key!, sealed.get(ref.scopeId)!, `value|${ref.scopeId}`).toString()).toBe(`secret-${ref.scopeId}`);
    }
  };
  const countUnder = async (id: string) =>
    (await pg.database.db.select({ n: sql<number>`count(*)::int` }).from(dataKeys).where(eq(dataKeys.masterKeyId, id)))[0]!.n;

  beforeAll(async () => {
    pg = await createPostgresDatabase();
    const store = createDataKeyStore({ keyring: keyringOf(`old:${oldKey}`) });
    for (const ref of scopes) {
      const key = await store.getOrCreate(pg.database.db, ref);
      sealed.set(ref.scopeId, seal(key, Buffer.from(`secret-${ref.scopeId}`), `value|${ref.scopeId}`));
    }
  }, 120_000);
  afterAll(async () => pg?.drop());

  itPostgres("reports with --dry-run and changes nothing", async () => {
    const env = { DATABASE_URL: pg.url, SWITCHYARD_MASTER_KEYS: `new:${newKey},old:${oldKey}` };
    const result = await runCli(["keys", "rotate", "--dry-run"], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`would re-wrap ${COUNT} data key(s)`);
    expect(await countUnder("old")).toBe(COUNT);
  });

  itPostgres("killed mid-way and run again, leaves every value readable and every key under the new master key", async () => {
    const env = { DATABASE_URL: pg.url, SWITCHYARD_MASTER_KEYS: `new:${newKey},old:${oldKey}` };
    const child = startCli(["keys", "rotate", "--no-backup"], env);
    // Kill it with SIGKILL as soon as it is part way through.
    for (;;) {
      const done = await countUnder("new");
      if (done > 0 && done < COUNT) break;
      if (done === COUNT || child.exitCode !== null) throw new Error("rotation finished before it could be killed");
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill("SIGKILL");
    await finished(child);
    const partial = await countUnder("new");
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(COUNT);
    await everyValueOpens(keyringOf(`new:${newKey},old:${oldKey}`));

    const rerun = await runCli(["keys", "rotate", "--no-backup"], env);
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toContain(`re-wrapped ${COUNT - partial} data key(s)`);
    expect(await countUnder("new")).toBe(COUNT);
    // The old key can now be dropped from the keyring.
    await everyValueOpens(keyringOf(`new:${newKey}`));
  }, 120_000);

  itPostgres("fails naming the data keys whose master key is not in the keyring", async () => {
    // A data key wrapped by a master key that is no longer configured anywhere.
    const lost = createDataKeyStore({ keyring: keyringOf(`gone:${randomBytes(32).toString("base64")}`) });
    await lost.getOrCreate(pg.database.db, { scope: "workspace", scopeId: "ws_orphan" });
    const result = await runCli(["keys", "rotate", "--no-backup"], { DATABASE_URL: pg.url, SWITCHYARD_MASTER_KEYS: `new:${newKey}` });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/cannot re-wrap dk_\w+ \(wrapped by gone\)/);
    expect(result.stderr).toMatch(/1 data key\(s\) could not be re-wrapped/);
  });
});
