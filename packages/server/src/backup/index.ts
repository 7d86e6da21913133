import type { Keyring } from "@switchyard/crypto";
import type { Db } from "@switchyard/db";
import { openEncrypted, writeEncrypted, type OpeningKeys, type SealingKeys } from "./age-file.ts";
import type { BackupHeader, BackupManifest } from "./format.ts";
import { backupOriginKey, originCheck, signBackup } from "./origin.ts";
import { BackupReader } from "./reader.ts";
import { snapshot, type Progress } from "./snapshot.ts";

export { BackupError, BACKUP_FORMAT_VERSION } from "./format.ts";
export type { BackupErrorCode, BackupHeader, BackupManifest, TableDigest } from "./format.ts";
export { BACKUP_TABLES, SKIPPED_TABLES } from "./tables.ts";
export type { BackupTable } from "./tables.ts";
export { tableDigests, type Progress } from "./snapshot.ts";
export { checkMigrationLevel, nonEmptyTables, restoreBackup } from "./restore.ts";
export type { BackupReader } from "./reader.ts";
export { openEncrypted, writeEncrypted, checkSealingKeys, generateBackupIdentity, readIdentityFile, readPassphraseFile, DEFAULT_SCRYPT_LOG_N } from "./age-file.ts";
export type { OpeningKeys, SealingKeys } from "./age-file.ts";
export { BACKUP_KEY_SCOPE } from "./origin.ts";
export type { BackupOrigin } from "./origin.ts";

/**
 * Writes an encrypted backup of the database to `out` (a new file, mode
 * 0600), its header and manifest MACed with the instance's backup origin key
 * (origin.ts), which `keyring` wraps. Resolves to the manifest and the
 * file's size.
 *
 * @example
 * await createBackup(database.db, { out: "switchyard.age", keys: { recipients: ["age1..."] }, keyring });
 */
export async function createBackup(
  db: Db,
  options: { out: string; keys: SealingKeys; keyring: Keyring; onProgress?: Progress; scryptLogN?: number },
): Promise<{ header: BackupHeader; manifest: BackupManifest; bytes: number }> {
  // Made before the snapshot, so the snapshot holds it (wrapped).
  const originKey = await backupOriginKey(db, options.keyring);
  const { header, manifest, result } = await snapshot(
    db,
    (plaintext) => writeEncrypted(options.out, options.keys, plaintext, options.scryptLogN !== undefined ? { scryptLogN: options.scryptLogN } : {}),
    { sign: (headerText, manifestText) => signBackup(originKey, headerText, manifestText), ...(options.onProgress ? { onProgress: options.onProgress } : {}) },
  );
  return { header, manifest, bytes: result };
}

/**
 * Reads a backup through without restoring it: age's authentication of every
 * chunk, the format, each table's count and digest against the manifest and,
 * given the master `keyring`, its origin (made by an instance holding that
 * key). Without a keyring the origin is not checked, and `origin` says so.
 */
export async function verifyBackup(
  path: string,
  keys: OpeningKeys,
  options: { onProgress?: Progress; keyring?: Keyring | null } = {},
): Promise<{ header: BackupHeader; manifest: BackupManifest; origin: "checked" | "not_checked" }> {
  const reader = await openBackup(path, keys);
  const origin = options.keyring ? originCheck(options.keyring) : null;
  const total = new Map(reader.header.tables.map((t) => [t.name, t.rows]));
  let done = 0;
  const manifest = await reader.body({
    table() {
      done = 0;
    },
    row(table, json) {
      origin?.row(table, json);
      done += 1;
      if (done % 1000 === 0) options.onProgress?.(table, done, total.get(table) ?? 0);
    },
    tableEnd(table, rows) {
      options.onProgress?.(table, rows, total.get(table) ?? 0);
    },
  });
  await origin?.check(reader.headerText, reader.manifestText, reader.origin);
  return { header: reader.header, manifest, origin: origin ? "checked" : "not_checked" };
}

/** Opens a backup and reads its header (wrong keys and a damaged header are refused here); restoreBackup reads the rest. */
export async function openBackup(path: string, keys: OpeningKeys): Promise<BackupReader> {
  return BackupReader.open(await openEncrypted(path, keys));
}
