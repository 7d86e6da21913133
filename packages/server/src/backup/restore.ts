import { sql } from "drizzle-orm";
import type { Keyring } from "@switchyard/crypto";
import { loadMigrations, migrate, resultRows, type Db } from "@switchyard/db";
import { BackupError, type BackupHeader, type BackupManifest, type ColumnInfo } from "./format.ts";
import { originCheck } from "./origin.ts";
import type { BackupReader } from "./reader.ts";
import type { Progress } from "./snapshot.ts";
import { BACKUP_TABLES } from "./tables.ts";

/** Rows and bytes of JSON one INSERT carries at most: bounded memory, few round trips. */
const BATCH_ROWS = 1000;
const BATCH_BYTES = 8 * 1024 * 1024;

/** The row migration 0001 writes into every database: a database holding only it is still empty. */
const SEEDED_WORKSPACE = "ws_default";

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Refuses a backup made at another migration level than this build's, before
 * the target database is touched. Restoring an older backup would need the
 * database migrated only as far as the backup, then the rest applied over the
 * rows; until that exists, such a backup is restored by the switchyard
 * version that made it, which is then upgraded.
 */
export async function checkMigrationLevel(header: BackupHeader): Promise<void> {
  const ours = (await loadMigrations()).map((m) => m.tag);
  const theirs = header.migrations.tags;
  if (JSON.stringify(ours) === JSON.stringify(theirs)) return;
  const newer = theirs.length > ours.length || theirs.some((tag) => !ours.includes(tag));
  throw new BackupError(
    "backup_migration_level",
    newer
      ? `the backup was made at migration ${header.migrations.last} (${theirs.length} migrations), newer than this switchyard (${ours.at(-1)}, ${ours.length}); restore it with that version`
      : `the backup was made at migration ${header.migrations.last} (${theirs.length} migrations) and this switchyard is at ${ours.at(-1)} (${ours.length}); restore it with the version that made it, then upgrade`,
  );
}

/**
 * Names the tables of `db` that hold rows, i.e. why it is not empty; the
 * `default` workspace that migrations create does not count. Works on a
 * database never migrated (none of its tables exist yet).
 */
export async function nonEmptyTables(db: Db): Promise<string[]> {
  const found: string[] = [];
  for (const { name } of BACKUP_TABLES) {
    const [exists] = resultRows<{ present: boolean }>(await db.execute(sql`select to_regclass(${ident(name)}) is not null as present`));
    if (!exists?.present) continue;
    const filter = name === "workspaces" ? ` where id <> '${SEEDED_WORKSPACE}'` : "";
    const [row] = resultRows<{ any: boolean }>(await db.execute(sql.raw(`select exists (select 1 from ${ident(name)}${filter}) as any`)));
    if (row?.any) found.push(name);
  }
  return found;
}

function refuseNonEmpty(tables: string[]): void {
  if (tables.length === 0) return;
  throw new BackupError(
    "database_not_empty",
    `the database is not empty (rows in ${tables.join(", ")}); restore fills an empty database only, and this one was left as it was`,
  );
}

/**
 * Restores a backup into an empty database: refuses a non-empty one before
 * migrating it, migrates, then inserts every table in foreign-key order in
 * ONE transaction that also locks the tables against a service started
 * meanwhile. Nothing commits unless every row was read, every table's count
 * and digest matched the manifest, and age authenticated the file to its
 * end; a damaged file leaves the database migrated and empty.
 *
 * The master key never travels in a backup: the restored data keys are still
 * wrapped, and open only with the master key provider that wrapped them
 * (`header.master_key_ids` names those keys). That `keyring` also checks the
 * backup's origin before anything commits (origin.ts): a file written by
 * someone with only the age recipient is refused.
 */
export async function restoreBackup(db: Db, reader: BackupReader, options: { keyring: Keyring; onProgress?: Progress }): Promise<BackupManifest> {
  const origin = originCheck(options.keyring);
  await checkMigrationLevel(reader.header);
  refuseNonEmpty(await nonEmptyTables(db));
  await migrate(db);
  return db.transaction(async (tx) => {
    await tx.execute(sql.raw(`lock table ${BACKUP_TABLES.map((t) => ident(t.name)).join(", ")} in exclusive mode`));
    refuseNonEmpty(await nonEmptyTables(tx));
    await tx.execute(sql.raw(`delete from workspaces where id = '${SEEDED_WORKSPACE}'`));
    const columns = await targetColumns(tx, reader.header);
    let batch: string[] = [];
    let batchBytes = 0;
    let table = "";
    let done = 0;
    const total = new Map(reader.header.tables.map((t) => [t.name, t.rows]));
    const flush = async () => {
      if (batch.length === 0) return;
      await tx.execute(insertStatement(table, columns.get(table)!, `[${batch.join(",")}]`));
      done += batch.length;
      batch = [];
      batchBytes = 0;
      options.onProgress?.(table, done, total.get(table) ?? 0);
    };
    const manifest = await reader.body({
      table(name) {
        table = name;
        done = 0;
      },
      async row(table, json) {
        origin.row(table, json);
        batch.push(json.toString("utf8"));
        batchBytes += json.length;
        if (batch.length >= BATCH_ROWS || batchBytes >= BATCH_BYTES) await flush();
      },
      async tableEnd() {
        await flush();
        options.onProgress?.(table, done, total.get(table) ?? 0);
      },
    });
    await origin.check(reader.headerText, reader.manifestText, reader.origin);
    await resetSequences(tx, reader.header);
    return manifest;
  });
}

/** The backup's columns per table, each of which the migrated target must have. */
async function targetColumns(tx: Db, header: BackupHeader): Promise<Map<string, ColumnInfo[]>> {
  const byTable = new Map<string, ColumnInfo[]>();
  for (const { name, columns } of header.tables) {
    const present = new Set(
      resultRows<{ name: string }>(
        await tx.execute(sql`select column_name as name from information_schema.columns where table_schema = current_schema() and table_name = ${name}`),
      ).map((r) => r.name),
    );
    const missing = columns.filter((c) => !present.has(c.name)).map((c) => c.name);
    if (missing.length) throw new BackupError("backup_format", `table ${name} of the backup has columns the database lacks: ${missing.join(", ")}`);
    byTable.set(name, columns);
  }
  return byTable;
}

/**
 * One INSERT of a batch: PostgreSQL itself turns each row's JSON back into
 * the column types (bytea from its hex, timestamps to the microsecond, text
 * arrays), and json/jsonb values are taken out of the one-element array the
 * backup wraps them in (snapshot.ts). Identity columns keep their values.
 */
function insertStatement(table: string, columns: ColumnInfo[], json: string) {
  const names = columns.map((c) => ident(c.name)).join(", ");
  const values = columns.map((c) => (c.type === "json" || c.type === "jsonb" ? `(x.${ident(c.name)} -> 0)` : `x.${ident(c.name)}`)).join(", ");
  const into = sql.raw(`insert into ${ident(table)} (${names}) overriding system value select ${values} from jsonb_populate_recordset(null::${ident(table)}, `);
  return sql`${into}${json}::jsonb) x`;
}

/** Identity and serial columns continue after the restored values, so the next audit row gets a fresh id. */
async function resetSequences(tx: Db, header: BackupHeader): Promise<void> {
  for (const { name } of header.tables) {
    const rows = resultRows<{ column: string; sequence: string }>(
      await tx.execute(sql`
        select column_name as column, pg_get_serial_sequence(${ident(name)}, column_name) as sequence
        from information_schema.columns
        where table_schema = current_schema() and table_name = ${name}
          and pg_get_serial_sequence(${ident(name)}, column_name) is not null`),
    );
    for (const { column, sequence } of rows) {
      await tx.execute(
        sql.raw(`select setval('${sequence.replace(/'/g, "''")}', coalesce((select max(${ident(column)}) from ${ident(name)}), 0) + 1, false)`),
      );
    }
  }
}
