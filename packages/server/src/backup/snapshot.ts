import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { resultRows, type Db } from "@switchyard/db";
import {
  BACKUP_FORMAT,
  BACKUP_FORMAT_VERSION,
  BackupError,
  type BackupHeader,
  type BackupManifest,
  type ColumnInfo,
  type MigrationLevel,
} from "./format.ts";
import { BACKUP_TABLES, SKIPPED_TABLES, type BackupTable } from "./tables.ts";

/** Called as rows are read: the table, rows done, rows it has. */
export type Progress = (table: string, done: number, total: number) => void;

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Reads the whole database in one REPEATABLE READ, READ ONLY transaction (one
 * snapshot, so a secret and its versions, a trigger and its script, are
 * always from the same moment) and hands `sink` the backup's plaintext lines
 * (format.ts) as a stream. Each table is read through a cursor, `fetch` rows
 * at a time (tables.ts), and each line is handed on before the next batch is
 * read, so memory stays bounded whatever the table sizes. Resolves to the
 * manifest and what `sink` answered.
 *
 * @example
 * const { manifest } = await snapshot(database.db, (lines) => writeEncrypted("x.age", keys, lines));
 */
export async function snapshot<T>(
  db: Db,
  sink: (plaintext: AsyncIterable<Buffer>) => Promise<T>,
  options: { onProgress?: Progress; sign?: (headerText: string, manifestText: string) => object } = {},
): Promise<{ header: BackupHeader; manifest: BackupManifest; result: T }> {
  return db.transaction(
    async (tx) => {
      // Row text must be the same bytes on every server and driver, so the
      // digests of a restored database match: timestamps in UTC, bytea in hex.
      await tx.execute(sql.raw("set local timezone = 'UTC'"));
      await tx.execute(sql.raw("set local bytea_output = 'hex'"));
      const header = await readHeader(tx);
      const manifest: BackupManifest = {
        format: BACKUP_FORMAT,
        format_version: BACKUP_FORMAT_VERSION,
        created_at: header.created_at,
        migrations: header.migrations,
        master_key_ids: header.master_key_ids,
        tables: {},
      };
      const result = await sink(lines(tx, header, manifest, options.onProgress, options.sign));
      if (Object.keys(manifest.tables).length !== header.tables.length) {
        throw new Error("the backup's sink stopped reading before the last table");
      }
      return { header, manifest, result };
    },
    { isolationLevel: "repeatable read", accessMode: "read only" },
  );
}

/** Per table of the database: its rows and the digest a backup of it would carry (tests and restore compare these). */
export async function tableDigests(db: Db): Promise<BackupManifest> {
  const { manifest } = await snapshot(db, async (plaintext) => {
    for await (const _line of plaintext) {
      // Drained only for the digests.
    }
  });
  return manifest;
}

async function* lines(
  tx: Db,
  header: BackupHeader,
  manifest: BackupManifest,
  onProgress?: Progress,
  sign?: (headerText: string, manifestText: string) => object,
): AsyncIterable<Buffer> {
  const headerText = JSON.stringify(header);
  yield Buffer.from(`H${headerText}\n`);
  for (const [index, table] of header.tables.entries()) {
    const spec = BACKUP_TABLES.find((t) => t.name === table.name) as BackupTable;
    yield Buffer.from(`T${JSON.stringify({ table: table.name })}\n`);
    const digest = createHash("sha256");
    let rows = 0;
    const cursor = `sy_backup_${index}`;
    await tx.execute(sql.raw(`declare ${cursor} no scroll cursor for ${await rowQuery(tx, table.name, table.columns, spec.blank ?? [])}`));
    for (;;) {
      const batch = resultRows<{ r: string }>(await tx.execute(sql.raw(`fetch forward ${spec.fetch} from ${cursor}`)));
      for (const { r } of batch) {
        const row = Buffer.from(`${r}\n`);
        digest.update(row);
        rows += 1;
        yield Buffer.concat([ROW_TAG, row]);
      }
      onProgress?.(table.name, rows, table.rows);
      if (batch.length < spec.fetch) break;
    }
    await tx.execute(sql.raw(`close ${cursor}`));
    manifest.tables[table.name] = { rows, sha256: digest.digest("hex") };
  }
  const manifestText = JSON.stringify(manifest);
  yield Buffer.from(`M${manifestText}\n`);
  if (sign) yield Buffer.from(`S${JSON.stringify(sign(headerText, manifestText))}\n`);
}

const ROW_TAG = Buffer.from("R");

/**
 * One row as jsonb text. jsonb orders keys itself, so the text does not
 * depend on column order; json and jsonb values are wrapped in a one-element
 * array, which keeps a stored JSON `null` apart from SQL NULL. Rows come in
 * primary-key order compared bytewise (COLLATE "C"), the same on every server
 * whatever its locale; a table without a primary key is ordered by the row's
 * text.
 */
async function rowQuery(tx: Db, table: string, columns: ColumnInfo[], blank: readonly string[]): Promise<string> {
  const wrapped = columns.filter((c) => (c.type === "json" || c.type === "jsonb") && !blank.includes(c.name));
  const pairs = [
    ...wrapped.map((c) => `'${c.name}', case when t.${ident(c.name)} is null then null else jsonb_build_array(t.${ident(c.name)}) end`),
    ...columns.filter((c) => blank.includes(c.name)).map((c) => `'${c.name}', null`),
  ];
  const overrides = pairs.length ? ` || jsonb_build_object(${pairs.join(", ")})` : "";
  const expression = `(to_jsonb(t)${overrides})::text`;
  const keys = await primaryKey(tx, table);
  const textual = new Set(columns.filter((c) => c.type === "text" || c.type === "character varying").map((c) => c.name));
  const order = keys.length
    ? keys.map((k) => `t.${ident(k)}${textual.has(k) ? ' collate "C"' : ""}`).join(", ")
    : `${expression} collate "C"`;
  return `select ${expression} as r from ${ident(table)} t order by ${order}`;
}

async function primaryKey(tx: Db, table: string): Promise<string[]> {
  const rows = resultRows<{ name: string }>(
    await tx.execute(sql`
      select a.attname as name
      from pg_index i
      join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
      where i.indrelid = ${ident(table)}::regclass and i.indisprimary
      order by array_position(i.indkey::int2[], a.attnum)`),
  );
  return rows.map((r) => r.name);
}

async function readHeader(tx: Db): Promise<BackupHeader> {
  const present = new Set(
    resultRows<{ name: string }>(
      await tx.execute(sql`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`),
    ).map((r) => r.name),
  );
  if (!present.has("switchyard_migrations")) {
    throw new BackupError("backup_format", "the database holds no Switchyard schema (no migrations were ever applied to it)");
  }
  const unknown = [...present].filter((name) => !BACKUP_TABLES.some((t) => t.name === name) && !(name in SKIPPED_TABLES)).sort();
  if (unknown.length > 0) {
    throw new BackupError(
      "database_unknown_table",
      `the database has table(s) this switchyard does not know how to back up: ${unknown.join(", ")} (a newer version made them; back up with that version)`,
    );
  }
  const tables: BackupHeader["tables"] = [];
  for (const { name } of BACKUP_TABLES) {
    if (!present.has(name)) continue;
    const columns = resultRows<ColumnInfo>(
      await tx.execute(sql`
        select column_name as name, data_type as type from information_schema.columns
        where table_schema = current_schema() and table_name = ${name} order by ordinal_position`),
    );
    const [count] = resultRows<{ n: string | number }>(await tx.execute(sql.raw(`select count(*) as n from ${ident(name)}`)));
    tables.push({ name, columns, rows: Number(count?.n ?? 0) });
  }
  const masterKeyIds = present.has("data_keys")
    ? resultRows<{ id: string }>(await tx.execute(sql`select distinct master_key_id as id from data_keys order by 1`)).map((r) => r.id)
    : [];
  return {
    format: BACKUP_FORMAT,
    format_version: BACKUP_FORMAT_VERSION,
    created_at: new Date().toISOString(),
    migrations: await migrationLevel(tx),
    master_key_ids: masterKeyIds,
    tables,
  };
}

/** The migrations applied to a database, in order. */
export async function migrationLevel(db: Db): Promise<MigrationLevel> {
  const tags = resultRows<{ tag: string }>(await db.execute(sql`select tag from switchyard_migrations order by tag collate "C"`)).map((r) => r.tag);
  return { count: tags.length, last: tags.at(-1) ?? null, tags };
}
