import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { parseKeyring, type Keyring } from "@switchyard/crypto";
import { createDataKeyStore } from "@switchyard/core";
import { dataKeys } from "@switchyard/db";
import { verifyBackup } from "@switchyard/server";
import { runCli } from "./support/cli.ts";
import { createPostgresDatabase, itPostgres, postgresAvailable, type PostgresDatabase } from "./support/databases.ts";

const oldKey = randomBytes(32).toString("base64");
const newKey = randomBytes(32).toString("base64");
const keyringOf = (spec: string): Keyring => {
  const parsed = parseKeyring({ masterKeys: spec });
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
};
const COUNT = 20;

describe.runIf(postgresAvailable())("switchyard keys rotate takes a backup first", () => {
  let pg: PostgresDatabase;
  let dir: string;
  let recipient: string;
  const identity = () => join(dir, "identity.txt");
  const env = () => ({ DATABASE_URL: pg.url, SWITCHYARD_DATA_DIR: join(dir, "data"), SWITCHYARD_MASTER_KEYS: `new:${newKey},old:${oldKey}` });
  const countUnder = async (id: string) =>
    (await pg.database.db.select({ n: sql<number>`count(*)::int` }).from(dataKeys).where(eq(dataKeys.masterKeyId, id)))[0]!.n;

  beforeAll(async () => {
    pg = await createPostgresDatabase();
    dir = await mkdtemp(join(tmpdir(), "switchyard-rotate-backup-"));
    const store = createDataKeyStore({ keyring: keyringOf(`old:${oldKey}`) });
    for (let i = 0; i < COUNT; i++) await store.getOrCreate(pg.database.db, { scope: "app", scopeId: `app_${i}` });
    const keygen = await runCli(["backup", "keygen", "--out", identity(), "--json"], {});
    recipient = JSON.parse(keygen.stdout).recipient;
  });
  afterAll(async () => {
    await pg?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  itPostgres("refuses to rotate without a way to encrypt the backup, or --no-backup, and rotates nothing", async () => {
    const result = await runCli(["keys", "rotate"], env());
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/keys rotate takes a backup first: give --backup-recipient age1\.\.\. \(repeatable\) or --backup-passphrase-file FILE, or --no-backup/);
    const bad = await runCli(["keys", "rotate", "--backup-recipient", "age1bad"], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--backup-recipient "age1bad" is not an age recipient/);
    expect(await countUnder("old")).toBe(COUNT);
  });

  itPostgres("writes the backup into the data folder before re-wrapping, holding the data keys as they were", async () => {
    const result = await runCli(["keys", "rotate", "--backup-recipient", recipient], env());
    expect(result.code, result.stderr).toBe(0);
    const [written] = await readdir(join(dir, "data", "backups"));
    expect(written).toMatch(/^keys-rotate-.*\.age$/);
    const file = join(dir, "data", "backups", written!);
    expect(result.stdout).toContain(`backup before rotation: ${file}`);
    expect(result.stdout).toContain(`re-wrapped ${COUNT} data key(s)`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const identities = (await readFile(identity(), "utf8")).split("\n").filter((l) => l.startsWith("AGE-SECRET-KEY-"));
    const { manifest } = await verifyBackup(file, { identities });
    // The rotated data keys were under "old"; the backup's origin key (made for this first backup) is under "new".
    expect(manifest.master_key_ids).toEqual(["new", "old"]);
    expect(manifest.tables.data_keys!.rows).toBe(COUNT + 1);
    expect(await countUnder("new")).toBe(COUNT + 1);
  });

  itPostgres("writes to --backup-out with a passphrase and names it in --json; a backup that fails stops the rotation", async () => {
    const passFile = join(dir, "pass.txt");
    await writeFile(passFile, "rotation passphrase\n", { mode: 0o600 });
    const out = join(dir, "before.age");
    const result = await runCli(["keys", "rotate", "--backup-out", out, "--backup-passphrase-file", passFile, "--json"], env());
    expect(result.code, result.stderr).toBe(0);
    const answer = JSON.parse(result.stdout);
    expect(answer.backup).toMatchObject({ file: out });
    expect(answer.backup.bytes).toBe((await stat(out)).size);
    expect((await verifyBackup(out, { passphrase: "rotation passphrase" })).manifest.master_key_ids).toEqual(["new"]);

    const again = await runCli(["keys", "rotate", "--backup-out", out, "--backup-passphrase-file", passFile], env());
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/the backup before rotation failed: .*before\.age already exists; backups are never overwritten; nothing was rotated/);
    expect(again.stdout).not.toContain("re-wrapped");
  });
});
