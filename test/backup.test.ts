import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { resultRows, type Database } from "@switchyard/db";
import {
  BackupError,
  createBackup,
  generateBackupIdentity,
  nonEmptyTables,
  openBackup,
  openEncrypted,
  restoreBackup,
  tableDigests,
  verifyBackup,
  writeEncrypted,
  type BackupManifest,
} from "@switchyard/server";
import { EVERY_BYTE, json, seedForBackup, signed, type Seeded } from "./support/backup-seed.ts";
import { createPostgresDatabase, describeEachDriver, openPglite, postgresAvailable } from "./support/databases.ts";
import { client, managerFor, testKeyring } from "./support/manager.ts";

const keyring = testKeyring();

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

const refusal = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BackupError);
  return error as BackupError;
};

describeEachDriver("encrypted backups", (ctx) => {
  let dir: string;
  let file: string;
  let identities: string[];
  let recipient: string;
  let seeded: Seeded;
  let manifest: BackupManifest;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "switchyard-backup-"));
    file = join(dir, "backup.age");
    const identity = await generateBackupIdentity();
    identities = identity.identityFile.split("\n").filter((l) => l.startsWith("AGE-SECRET-KEY-"));
    recipient = identity.recipient;
    seeded = await seedForBackup(ctx.database, keyring);
    manifest = (await createBackup(ctx.database.db, { out: file, keys: { recipients: [identity.recipient] }, keyring })).manifest;
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("counts and digests every table in its manifest, and verify reads it through", async () => {
    expect(manifest.tables.secrets!.rows).toBe(4);
    expect(manifest.tables.secret_versions!.rows).toBe(6);
    expect(manifest.tables.inbound_seen!.rows).toBe(1);
    expect(manifest.master_key_ids).toEqual([keyring.activeId]);
    expect(manifest.tables).toEqual((await tableDigests(ctx.database.db)).tables);
    const verified = await verifyBackup(file, { identities }, { keyring });
    expect(verified).toMatchObject({ manifest, origin: "checked" });
  });

  const targets: [string, () => Promise<{ database: Database; drop(): Promise<void> }>][] = [
    ["a fresh PGlite", async () => {
      const database = await openPglite();
      return { database, drop: () => database.close() };
    }],
    ...(postgresAvailable()
      ? [["a fresh, never migrated PostgreSQL database", async () => {
          const pg = await createPostgresDatabase({ migrated: false });
          return { database: pg.database, drop: () => pg.drop() };
        }] as [string, () => Promise<{ database: Database; drop(): Promise<void> }>]]
      : []),
  ];

  for (const [name, open] of targets) {
    it(`restores into ${name} row for row; tokens, secrets and signing secrets work with the same master key only`, async () => {
      const target = await open();
      try {
        const restored = await restoreBackup(target.database.db, await openBackup(file, { identities }), { keyring });
        expect(restored).toEqual(manifest);
        expect((await tableDigests(target.database.db)).tables).toEqual(manifest.tables);
        const db = target.database.db;
        const meta = resultRows<{ is_sql_null: boolean; is_json_null: boolean }>(
          await db.execute(sql`select value is null as is_sql_null, value = 'null'::jsonb as is_json_null from meta where key = 'a_json_null'`),
        );
        expect(meta).toEqual([{ is_sql_null: false, is_json_null: true }]);
        // A run's finish_xid is the source server's transaction id: restored as null, so the runs stream never takes old runs for new.
        const xids = (db: typeof target.database.db) => db.execute(sql`select count(*)::int as runs, count(finish_xid)::int as with_xid from runs`).then((r) => resultRows<{ runs: number; with_xid: number }>(r)[0]);
        expect((await xids(ctx.database.db))?.with_xid).toBeGreaterThan(0);
        expect(await xids(db)).toMatchObject({ with_xid: 0 });
        expect((await xids(db))?.runs).toBeGreaterThan(0);
        const raw = resultRows<{ raw: Uint8Array }>(await db.execute(sql`select raw from inbound_emails where id = 'raw_a'`));
        expect(Buffer.from(raw[0]!.raw).equals(EVERY_BYTE)).toBe(true);
        // The next audit row gets a fresh id after the restored ones.
        await db.execute(sql`insert into audit_log (actor_type, actor_id, action, outcome) values ('system', 'test', 'after.restore', 'ok')`);

        const built = await managerFor(target.database, { keyring });
        try {
          // The restored bootstrap token still authenticates; no second one was issued.
          expect(built.adminToken).toBeNull();
          const admin = client(built.app, seeded.adminToken);
          for (const [path, secret, value] of seeded.values) {
            const reveal = await admin.post(`${path}/secrets/${secret}/reveal`);
            expect([secret, reveal.status, reveal.json.value]).toEqual([secret, 200, value]);
          }
          const body = JSON.stringify({ n: 2 });
          const hook = `/api/v1/hooks/${seeded.hookId}`;
          expect((await built.app.request(hook, { method: "POST", body, headers: { ...json, ...signed(seeded.hookSecret, body) } })).status).toBe(202);
          const replay = await built.app.request(hook, { method: "POST", body, headers: { ...json, ...signed(seeded.hookSecret, body, seeded.usedWebhookId) } });
          expect(replay.status).toBe(401);
        } finally {
          await built.services.stop();
        }
        const stranger = await managerFor(target.database, { keyring: testKeyring() });
        try {
          const reveal = await client(stranger.app, seeded.adminToken).post(`/api/v1/admin/apps/${seeded.billingId}/secrets/API_KEY/reveal`);
          expect(reveal.status).toBe(500);
          expect(reveal.json.error.code).toBe("decrypt_failed");
        } finally {
          await stranger.services.stop();
        }
      } finally {
        await target.drop();
      }
    });
  }

  it("refuses a database that is not empty and leaves it as it was", async () => {
    const before = await tableDigests(ctx.database.db);
    const error = await refusal(restoreBackup(ctx.database.db, await openBackup(file, { identities }), { keyring }));
    expect(error.code).toBe("database_not_empty");
    expect(error.message).toMatch(/rows in workspaces, apps, api_tokens/);
    expect((await tableDigests(ctx.database.db)).tables).toEqual(before.tables);
  });

  it("refuses rows altered and sealed again by someone who holds the key: the manifest's digest does not match", async () => {
    const plaintext = (await collect(await openEncrypted(file, { identities }))).toString("utf8");
    // The size of the first secret, changed in place: the JSON stays valid, the row count the same.
    const altered = plaintext.replace(/("size": )(\d+)/, (_, prefix: string, n: string) => `${prefix}${Number(n) + 1}`);
    expect(altered).not.toBe(plaintext);
    const forged = join(dir, "forged.age");
    const identity = await generateBackupIdentity();
    await writeEncrypted(forged, { recipients: [identity.recipient] }, (async function* () {
      yield Buffer.from(altered);
    })());
    const keys = { identities: identity.identityFile.split("\n").filter((l) => l.startsWith("AGE-SECRET-KEY-")) };
    expect((await refusal(verifyBackup(forged, keys))).code).toBe("backup_digest_mismatch");
    const target = await openPglite();
    try {
      const error = await refusal(restoreBackup(target.db, await openBackup(forged, keys), { keyring }));
      expect(error.code).toBe("backup_digest_mismatch");
      expect(error.message).toMatch(/table secrets/);
      expect(await nonEmptyTables(target.db)).toEqual([]);
    } finally {
      await target.close();
    }
  });

  it("refuses a key that opens nothing before reading any row", async () => {
    const other = await generateBackupIdentity();
    const keys = { identities: other.identityFile.split("\n").filter((l) => l.startsWith("AGE-SECRET-KEY-")) };
    expect((await refusal(verifyBackup(file, keys))).code).toBe("backup_wrong_key");
    expect((await refusal(openBackup(file, { passphrase: "not it" }))).code).toBe("backup_wrong_key");
  });

  /**
   * What someone holding only the recipient can write: the instance's backup
   * with an api_tokens row changed to theirs, every digest and count made to
   * match, encrypted to the same `age1...` recipient. (They could not read
   * the original; starting from it only gives them more than they have.)
   */
  async function craft(name: string, origin: "kept" | "dropped"): Promise<string> {
    const lines = (await collect(await openEncrypted(file, { identities }))).toString("utf8").split("\n");
    let table = "";
    const digests = new Map<string, ReturnType<typeof createHash>>();
    const out: string[] = [];
    let swapped = false;
    for (const line of lines) {
      if (line.startsWith("T")) {
        table = (JSON.parse(line.slice(1)) as { table: string }).table;
        digests.set(table, createHash("sha256"));
      }
      if (line.startsWith("R")) {
        let row = line.slice(1);
        // The attacker's token: the admin token's row, now with a hash they know the token of.
        if (table === "api_tokens" && !swapped) {
          swapped = true;
          row = row.replace(/"token_hash": "[^"]*"/, `"token_hash": "${createHash("sha256").update("attacker's token").digest("hex")}"`);
        }
        digests.get(table)!.update(`${row}\n`);
        out.push(`R${row}`);
        continue;
      }
      if (line.startsWith("M")) {
        const forged = JSON.parse(line.slice(1)) as BackupManifest;
        for (const [t, digest] of digests) forged.tables[t]!.sha256 = digest.digest("hex");
        out.push(`M${JSON.stringify(forged)}`);
        continue;
      }
      if (line.startsWith("S") && origin === "dropped") continue;
      out.push(line);
    }
    expect(out.join("\n")).toContain(createHash("sha256").update("attacker's token").digest("hex"));
    const crafted = join(dir, name);
    await writeEncrypted(crafted, { recipients: [recipient] }, (async function* () {
      yield Buffer.from(out.join("\n"));
    })());
    return crafted;
  }

  it("refuses a backup crafted with only the age recipient: verify with the master key and restore both say it is not this instance's", async () => {
    for (const [name, origin, reason] of [
      ["crafted.age", "kept", /origin MAC does not match/],
      ["unsigned.age", "dropped", /carries no origin MAC/],
    ] as const) {
      const crafted = await craft(name, origin);
      // age and every digest check out: without the master key, verify can only say it did not check the origin.
      expect((await verifyBackup(crafted, { identities })).origin).toBe("not_checked");
      const error = await refusal(verifyBackup(crafted, { identities }, { keyring }));
      expect([error.code, error.message]).toEqual(["backup_origin", expect.stringMatching(reason)]);
      const target = await openPglite();
      try {
        const refused = await refusal(restoreBackup(target.db, await openBackup(crafted, { identities }), { keyring }));
        expect([refused.code, refused.message]).toEqual(["backup_origin", expect.stringMatching(reason)]);
        expect(await nonEmptyTables(target.db)).toEqual([]);
      } finally {
        await target.close();
      }
    }
  });

  it("refuses a genuine backup under another master key, before anything commits", async () => {
    const target = await openPglite();
    try {
      const error = await refusal(restoreBackup(target.db, await openBackup(file, { identities }), { keyring: testKeyring() }));
      expect([error.code, error.message]).toEqual(["backup_origin", expect.stringMatching(/does not open with the configured master key/)]);
      expect(await nonEmptyTables(target.db)).toEqual([]);
    } finally {
      await target.close();
    }
  });
});
