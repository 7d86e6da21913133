/**
 * The plaintext inside a backup's age encryption: UTF-8 lines, each starting
 * with one letter that says what it is.
 *
 *   H{header}          once, first: format version, created_at, migration
 *                      level, each table's columns and row count
 *   T{"table":name}    a table begins; its rows follow
 *   R{row}             one row as PostgreSQL's jsonb text of it
 *   M{manifest}        once: per table the row count and the SHA-256 of
 *                      its row lines (each row's JSON and "\n")
 *   S{origin}          once, last: an HMAC over the header's and the
 *                      manifest's JSON text under the instance's backup
 *                      origin key (origin.ts), which proves who made it
 *
 * The manifest comes last because its digests are computed as the rows
 * stream out; age authenticates every 64 KiB chunk and marks the last one,
 * so a file cut short or altered fails to decrypt before any manifest could
 * be trusted, and the digests catch rows changed by someone who holds the key.
 */
export const BACKUP_FORMAT = "switchyard-backup";
export const BACKUP_FORMAT_VERSION = 1;

export interface ColumnInfo {
  name: string;
  /** PostgreSQL's type name (`text`, `jsonb`, `timestamp with time zone`, `ARRAY`...). */
  type: string;
}

export interface MigrationLevel {
  count: number;
  last: string | null;
  tags: string[];
}

export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  format_version: number;
  created_at: string;
  migrations: MigrationLevel;
  /** Ids of the master keys that wrapped the data keys: a restored instance needs them (never the keys). */
  master_key_ids: string[];
  tables: { name: string; columns: ColumnInfo[]; rows: number }[];
}

export interface TableDigest {
  rows: number;
  sha256: string;
}

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  format_version: number;
  created_at: string;
  migrations: MigrationLevel;
  master_key_ids: string[];
  tables: Record<string, TableDigest>;
}

export type BackupErrorCode =
  | "backup_unreadable"
  | "backup_not_age"
  | "backup_wrong_key"
  | "backup_corrupt"
  | "backup_digest_mismatch"
  | "backup_origin"
  | "backup_format"
  | "backup_migration_level"
  | "database_not_empty"
  | "database_unknown_table"
  | "usage";

/** Why a backup could not be made, read or restored. `code` is stable; the message is for people. */
export class BackupError extends Error {
  override name = "BackupError";
  constructor(
    readonly code: BackupErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
