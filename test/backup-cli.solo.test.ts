import { randomBytes } from "node:crypto";
import { copyFile, mkdtemp, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { connect, resultRows, type Database } from "@switchyard/db";
import { createApp, type Principal } from "@switchyard/core";
import { parseKeyring, type Keyring } from "@switchyard/crypto";
import { nonEmptyTables, tableDigests, type BackupManifest } from "@switchyard/server";
import { runCli } from "./support/cli.ts";
import { createPostgresDatabase, itPostgres, postgresAvailable, type PostgresDatabase } from "./support/databases.ts";
import { managerFor } from "./support/manager.ts";

const APPS = 10;
const SECRETS_PER_APP = 1000;
const SCRIPTS = 1000;
const system: Principal = { type: "system", id: "backup-test" };
const masterKey = randomBytes(32).toString("base64");
const keyring = keyringOf(masterKey);
/** The instance's master key: `backup create` MACs with a key it wraps, `restore` checks that MAC with it. */
const withKey = (env: Record<string, string>) => ({ ...env, SWITCHYARD_MASTER_KEY: masterKey });
function keyringOf(key: string): Keyring {
  const parsed = parseKeyring({ masterKey: key });
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
}
const valueOf = (app: number, i: number, version: number) => `v${version}-app${app}-secret${i}-${"x".repeat(40)}`;

describe.runIf(postgresAvailable())("switchyard backup, 10,000 secrets and 1,000 scripts, through the command", () => {
  let dir: string;
  let source: PostgresDatabase;
  let recipient: string;
  let manifest: BackupManifest;
  const appIds: string[] = [];
  const file = () => join(dir, "full.age");
  const identity = () => join(dir, "identity.txt");
  const cli = (args: string[], env: Record<string, string>) => runCli(args, env, 300_000);

  /** Every current value of every app opens through the secrets service with the master key that sealed it. */
  async function everyValueReads(database: Database) {
    const built = await managerFor(database, { keyring });
    try {
      for (const [a, appId] of appIds.entries()) {
        for (let i = 0; i < SECRETS_PER_APP; i++) {
          const hit = await built.secrets.resolveSecret(appId, `S${i}`, { type: "run", id: "run_check", appId });
          if (hit?.value !== valueOf(a, i, 2)) throw new Error(`app ${a} S${i} reads ${JSON.stringify(hit?.value)}`);
        }
      }
      // An old version opens too: rolling back makes version 1 current again.
      await built.secrets.rollback(system, { kind: "app", app: appIds[0]! }, "S7", 1);
      expect((await built.secrets.resolveSecret(appIds[0]!, "S7", { type: "run", id: "run_check2", appId: appIds[0]! }))?.value).toBe(valueOf(0, 7, 1));
    } finally {
      await built.services.stop();
    }
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "switchyard-backup-cli-"));
    source = await createPostgresDatabase();
    const built = await managerFor(source.database, { keyring });
    try {
      for (let a = 0; a < APPS; a++) {
        const app = await createApp(source.database.db, system, { name: `app-${a}` });
        appIds.push(app.id);
        for (const version of [1, 2]) {
          const text = Array.from({ length: SECRETS_PER_APP }, (_, i) => `S${i}=${valueOf(a, i, version)}`).join("\n");
          const report = await built.secrets.importDotenv(system, { kind: "app", app: app.id }, text, false);
          expect(report.created + report.updated).toBe(SECRETS_PER_APP);
        }
      }
      for (let s = 0; s < SCRIPTS; s++) {
        await built.services.scripts.deploy(system, appIds[s % APPS]!, { name: `script-${s}`, language: "js", source: `export default () => ({ n: ${s} });` });
      }
    } finally {
      await built.services.stop();
    }
    const keygen = await cli(["backup", "keygen", "--out", identity(), "--json"], {});
    expect(keygen.code, keygen.stderr).toBe(0);
    recipient = JSON.parse(keygen.stdout).recipient;
    expect((await stat(identity())).mode & 0o777).toBe(0o600);
  }, 600_000);
  afterAll(async () => {
    await source?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  itPostgres("creates a backup whose manifest counts every row, and verify finds every count and digest", async () => {
    const created = await cli(["backup", "create", "--out", file(), "--recipient", recipient, "--json"], withKey({ DATABASE_URL: source.url }));
    expect(created.code, created.stderr).toBe(0);
    manifest = JSON.parse(created.stdout).manifest;
    expect(manifest.tables.secrets!.rows).toBe(APPS * SECRETS_PER_APP);
    expect(manifest.tables.secret_versions!.rows).toBe(2 * APPS * SECRETS_PER_APP);
    expect(manifest.tables.scripts!.rows).toBe(SCRIPTS);
    // One per app, and the backup origin key.
    expect(manifest.tables.data_keys!.rows).toBe(APPS + 1);
    expect(manifest.tables).toEqual((await tableDigests(source.database.db)).tables);
    expect((await stat(file())).mode & 0o777).toBe(0o600);
    // Nothing of the plaintext shows through.
    expect((await readFile(file())).includes(Buffer.from("app0-secret1"))).toBe(false);

    const verified = await cli(["backup", "verify", file(), "--identity", identity(), "--json"], withKey({}));
    expect(verified.code, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ origin: "checked", manifest });
    const text = await cli(["backup", "verify", file(), "--identity", identity()], withKey({}));
    expect(text.stdout).toMatch(/authentic, made by an instance holding this master key; every table's row count and SHA-256 match the manifest/);
    const unchecked = await cli(["backup", "verify", file(), "--identity", identity()], {});
    expect(unchecked.code, unchecked.stderr).toBe(0);
    expect(unchecked.stdout).toMatch(/origin not checked \(no master key configured\)/);
    const stranger = await cli(["backup", "verify", file(), "--identity", identity()], { SWITCHYARD_MASTER_KEY: randomBytes(32).toString("base64") });
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).toMatch(/does not open with the configured master key/);
    expect(text.stdout).toMatch(/secret_versions\s+20000 rows/);
  }, 300_000);

  itPostgres("restores into a fresh embedded PGlite folder with every count, digest and value equal", async () => {
    const dataDir = join(dir, "restored-pglite");
    const restored = await cli(["backup", "restore", file(), "--identity", identity()], withKey({ SWITCHYARD_DATA_DIR: dataDir }));
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/restored .* into the embedded database/);
    expect(restored.stdout).toContain(`master key(s) that wrapped the data keys (${keyring.activeId})`);
    const database = await connect({ dataDir: join(dataDir, "pgdata") });
    try {
      expect((await tableDigests(database.db)).tables).toEqual(manifest.tables);
      await everyValueReads(database);
    } finally {
      await database.close();
    }
  }, 300_000);

  itPostgres("restores into a fresh PostgreSQL database with every count, digest and value equal", async () => {
    const target = await createPostgresDatabase({ migrated: false });
    try {
      const restored = await cli(["backup", "restore", file(), "--identity", identity(), "--json"], withKey({ DATABASE_URL: target.url }));
      expect(restored.code, restored.stderr).toBe(0);
      expect(JSON.parse(restored.stdout)).toMatchObject({ ok: true, target: "postgres", manifest });
      expect((await tableDigests(target.database.db)).tables).toEqual(manifest.tables);
      await everyValueReads(target.database);
    } finally {
      await target.drop();
    }
  }, 300_000);

  /** Runs verify and restore on a bad file: each must refuse, and the target must hold nothing. */
  async function refusedBoth(path: string, keyArgs: string[], message: RegExp) {
    const verify = await cli(["backup", "verify", path, ...keyArgs, "--json"], {});
    expect([verify.code, JSON.parse(verify.stdout).ok]).toEqual([1, false]);
    expect(verify.stderr).toMatch(message);
    const target = await createPostgresDatabase({ migrated: false });
    try {
      const restore = await cli(["backup", "restore", path, ...keyArgs], withKey({ DATABASE_URL: target.url }));
      expect(restore.code).toBe(1);
      expect(restore.stderr).toMatch(message);
      expect(await nonEmptyTables(target.database.db)).toEqual([]);
    } finally {
      await target.drop();
    }
  }

  itPostgres("refuses one flipped byte, by verify and by restore, leaving the target empty", async () => {
    const flipped = join(dir, "flipped.age");
    const bytes = await readFile(file());
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await writeFile(flipped, bytes);
    await refusedBoth(flipped, ["--identity", identity()], /is damaged: its content does not authenticate/);
  }, 300_000);

  itPostgres("refuses a truncated file, by verify and by restore, leaving the target empty", async () => {
    const cut = join(dir, "cut.age");
    await copyFile(file(), cut);
    await truncate(cut, (await stat(cut)).size - 1000);
    await refusedBoth(cut, ["--identity", identity()], /is damaged: its content does not authenticate/);
  }, 300_000);

  itPostgres("encrypts to a passphrase, and refuses a wrong passphrase by verify and by restore, before touching the database", async () => {
    const passFile = join(dir, "pass.txt");
    const wrongFile = join(dir, "wrong.txt");
    await writeFile(passFile, "correct horse battery staple\n", { mode: 0o600 });
    await writeFile(wrongFile, "correct horse battery stapler\n", { mode: 0o600 });
    const sealed = join(dir, "pass.age");
    const created = await cli(["backup", "create", "--out", sealed, "--passphrase-file", passFile], withKey({ DATABASE_URL: source.url }));
    expect(created.code, created.stderr).toBe(0);
    const verified = await cli(["backup", "verify", sealed, "--passphrase-file", passFile, "--json"], {});
    expect(verified.code, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout).manifest.tables).toEqual(manifest.tables);
    await refusedBoth(sealed, ["--passphrase-file", wrongFile], /the passphrase opens .*pass\.age \(a wrong passphrase/);
  }, 300_000);

  itPostgres("refuses a database that is not empty and leaves it untouched", async () => {
    const before = await tableDigests(source.database.db);
    const restore = await cli(["backup", "restore", file(), "--identity", identity(), "--json"], withKey({ DATABASE_URL: source.url }));
    expect(restore.code).toBe(1);
    expect(JSON.parse(restore.stdout).error.code).toBe("database_not_empty");
    expect(restore.stderr).toMatch(/the database is not empty \(rows in apps, api_tokens, meta, data_keys, secrets, secret_versions, scripts, audit_log\)/);
    expect(await tableDigests(source.database.db)).toMatchObject({ tables: before.tables, migrations: before.migrations });
  }, 120_000);

  itPostgres("answers bad input with a clear message and a non-zero exit", async () => {
    const cases: [string[], number, RegExp][] = [
      [["backup", "create", "--recipient", recipient], 2, /needs --out FILE/],
      [["backup", "create", "--out", join(dir, "x.age")], 2, /needs --recipient age1\.\.\. \(repeatable\) or --passphrase-file/],
      [["backup", "create", "--out", join(dir, "x.age"), "--recipient", "age1nope"], 2, /is not an age recipient/],
      [["backup", "create", "--out", file(), "--recipient", recipient], 2, /already exists; backups are never overwritten/],
      [["backup", "verify", file()], 2, /give --identity FILE/],
      [["backup", "verify", join(dir, "missing.age"), "--identity", identity()], 1, /cannot read .*missing\.age \(ENOENT\)/],
      [["backup", "verify", identity(), "--identity", identity()], 1, /is not an age-encrypted file/],
      [["backup", "verify", file(), "--identity", join(dir, "pass.txt")], 2, /is not an age identity/],
      [["backup", "frobnicate"], 2, /unknown backup command "frobnicate"/],
      [["backup", "restore", file(), "--identity", identity()], 2, /backup restore needs the master key\(s\) of the instance that made the backup/],
    ];
    for (const [args, code, message] of cases) {
      const result = await cli(args, args[1] === "restore" ? { DATABASE_URL: source.url } : withKey({ DATABASE_URL: source.url }));
      expect([args.join(" "), result.code]).toEqual([args.join(" "), code]);
      expect(result.stderr).toMatch(message);
    }
    const [{ n }] = resultRows<{ n: number }>(await source.database.db.execute(sql`select count(*)::int as n from secrets`)) as [{ n: number }];
    expect(n).toBe(APPS * SECRETS_PER_APP);
  }, 120_000);
});
