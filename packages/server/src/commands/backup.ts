import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Keyring } from "@switchyard/crypto";
import type { Db } from "@switchyard/db";
import { parseArgs } from "node:util";
import {
  BackupError,
  checkMigrationLevel,
  checkSealingKeys,
  createBackup,
  generateBackupIdentity,
  openBackup,
  readIdentityFile,
  readPassphraseFile,
  restoreBackup,
  verifyBackup,
  type BackupHeader,
  type BackupManifest,
  type OpeningKeys,
  type Progress,
  type SealingKeys,
} from "../backup/index.ts";
import { parseConfig, type Config } from "../config.ts";
import { createLogger } from "../logger.ts";
import { DEV_KEY_FILE, loadKeyring } from "../master-keys.ts";
import { openDatabase, pgliteDir } from "../runtime.ts";
import { StartupError } from "../startup-error.ts";

export interface BackupIo {
  /** Progress lines go here, rewritten in place; only when it is a terminal. */
  progress: ((text: string) => void) | null;
  error(line: string): void;
}

const processIo = (): BackupIo => ({
  progress: process.stderr.isTTY ? (text) => process.stderr.write(`\r\x1b[2K${text}`) : null,
  error: (line) => console.error(line),
});

/**
 * `switchyard backup create|verify|restore`. Resolves to the exit code: 0
 * done, 1 the backup or the database was refused (damaged, wrong key, not
 * empty...), 2 a usage error. With `--json`, stdout carries one JSON object,
 * `{ok: true, ...}` or `{ok: false, error: {code, message}}`.
 *
 * @example
 * // switchyard backup create --out nightly.age --recipient age1...
 * await runBackup(["create", "--out", "nightly.age", "--recipient", "age1..."], process.env, console.log);
 */
export async function runBackup(args: string[], env: NodeJS.ProcessEnv, print: (line: string) => void, io: BackupIo = processIo()): Promise<number> {
  const [verb = "", ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      out: { type: "string" },
      recipient: { type: "string", multiple: true },
      identity: { type: "string", multiple: true },
      "passphrase-file": { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  const json = values.json ?? false;
  try {
    if (verb === "create") {
      if (positionals.length) throw new BackupError("usage", `backup create takes no file argument; use --out FILE (got ${JSON.stringify(positionals[0])})`);
      if (!values.out) throw new BackupError("usage", "backup create needs --out FILE");
      const keys = await sealingKeys(values.recipient ?? [], values["passphrase-file"]);
      const config = parseConfig(env);
      if (!config.databaseUrl && !existsSync(pgliteDir(config))) {
        throw new BackupError("usage", `there is no embedded database in ${pgliteDir(config)} (set SWITCHYARD_DATA_DIR, or DATABASE_URL for PostgreSQL)`);
      }
      // The master keyring wraps the key that proves this instance made the backup (backup/origin.ts).
      const loaded = await loadKeyring(config);
      try {
        const database = await openDatabase(config, createLogger({ ...config, logLevel: "warn" }), "backup");
        try {
          const made = await createBackup(database.db, { out: values.out, keys, keyring: loaded.keyring, onProgress: progress(io) });
          endProgress(io);
          report(print, json, { ok: true, file: values.out, bytes: made.bytes, manifest: made.manifest }, () => summary("wrote", values.out!, made.header, made.manifest, made.bytes));
        } finally {
          await database.close();
        }
      } finally {
        loaded.close();
      }
      return 0;
    }
    if (verb === "keygen") {
      if (!values.out || positionals.length) throw new BackupError("usage", "backup keygen needs --out FILE (the identity file to write) and nothing else");
      const { identityFile, recipient } = await generateBackupIdentity();
      await writeFile(values.out, identityFile, { mode: 0o600, flag: "wx" }).catch((error: NodeJS.ErrnoException) => {
        throw new BackupError("usage", error.code === "EEXIST" ? `${values.out} already exists` : `cannot write ${values.out} (${error.code ?? "error"})`, { cause: error });
      });
      report(print, json, { ok: true, identity_file: values.out, recipient }, () => [
        recipient,
        `the identity that opens backups made with it is in ${values.out}: keep it apart from them (not beside the backups, not in the database's host)`,
      ]);
      return 0;
    }
    if (verb === "verify" || verb === "restore") {
      if (values.out || values.recipient) throw new BackupError("usage", `backup ${verb} takes --identity FILE or --passphrase-file FILE, not --out or --recipient`);
      if (positionals.length !== 1) throw new BackupError("usage", `backup ${verb} takes one FILE (got ${positionals.length})`);
      const path = positionals[0]!;
      const keys = await openingKeys(values.identity ?? [], values["passphrase-file"]);
      const config = parseConfig(env);
      if (verb === "verify") {
        const loaded = masterKeyConfigured(config) ? await loadKeyring(config) : null;
        try {
          const { header, manifest, origin } = await verifyBackup(path, keys, { onProgress: progress(io), keyring: loaded?.keyring ?? null });
          endProgress(io);
          report(print, json, { ok: true, file: path, origin, manifest }, () => [
            origin === "checked"
              ? `${path}: authentic, made by an instance holding this master key; every table's row count and SHA-256 match the manifest`
              : `${path}: origin not checked (no master key configured): intact, but anyone holding the age recipient could have made it; every table's row count and SHA-256 match the manifest`,
            ...summary("holds", path, header, manifest, null).slice(1),
          ]);
        } finally {
          loaded?.close();
        }
        return 0;
      }
      if (!masterKeyConfigured(config)) {
        throw new BackupError(
          "usage",
          "backup restore needs the master key(s) of the instance that made the backup (SWITCHYARD_MASTER_KEY(S) or SWITCHYARD_PKCS11_*): it checks the backup's origin with them before committing, and the restored instance opens its secrets with them",
        );
      }
      const reader = await openBackup(path, keys);
      await checkMigrationLevel(reader.header);
      const loaded = await loadKeyring(config);
      const where = config.databaseUrl ? "the PostgreSQL database of DATABASE_URL" : `the embedded database in ${pgliteDir(config)}`;
      const database = await openDatabase(config, createLogger({ ...config, logLevel: "warn" }), "restore").catch((error: unknown) => {
        loaded.close();
        throw error;
      });
      try {
        const manifest = await restoreBackup(database.db, reader, { keyring: loaded.keyring, onProgress: progress(io) });
        endProgress(io);
        report(print, json, { ok: true, file: path, target: config.databaseUrl ? "postgres" : "pglite", manifest }, () => [
          `restored ${path} into ${where}; every table's row count and SHA-256 matched the manifest`,
          ...summary("holds", path, reader.header, manifest, null).slice(1),
          `start switchyard with the master key(s) that wrapped the data keys (${reader.header.master_key_ids.join(", ") || "none yet"}): the backup holds no master key`,
        ]);
      } finally {
        await database.close();
        loaded.close();
      }
      return 0;
    }
    throw new BackupError("usage", `unknown backup command ${JSON.stringify(verb)}; run 'switchyard backup --help'`);
  } catch (error) {
    endProgress(io);
    if (error instanceof StartupError) throw error;
    if (!(error instanceof BackupError)) {
      // A database or file system failure: said plainly, with its cause, never as a stack trace.
      const cause = (error as Error).cause instanceof Error ? `: ${((error as Error).cause as Error).message}` : "";
      const message = `backup ${verb} failed: ${(error as Error).message.split("\n")[0]}${cause}`;
      if (json) print(JSON.stringify({ ok: false, error: { code: "failed", message } }));
      io.error(`switchyard: ${message}`);
      return 1;
    }
    if (json) print(JSON.stringify({ ok: false, error: { code: error.code, message: error.message } }));
    io.error(`switchyard: ${error.message}`);
    return error.code === "usage" ? 2 : 1;
  }
}

async function sealingKeys(recipients: string[], passphraseFile: string | undefined): Promise<SealingKeys> {
  if (recipients.length > 0 && passphraseFile) throw new BackupError("usage", "give --recipient or --passphrase-file, not both (age encrypts to one or the other)");
  if (passphraseFile) return { passphrase: await readPassphraseFile(passphraseFile) };
  if (recipients.length === 0) throw new BackupError("usage", "backup create needs --recipient age1... (repeatable) or --passphrase-file FILE");
  const keys = { recipients };
  await checkSealingKeys(keys);
  return keys;
}

async function openingKeys(identityFiles: string[], passphraseFile: string | undefined): Promise<OpeningKeys> {
  if (identityFiles.length > 0 && passphraseFile) throw new BackupError("usage", "give --identity or --passphrase-file, not both");
  if (passphraseFile) return { passphrase: await readPassphraseFile(passphraseFile) };
  if (identityFiles.length === 0) throw new BackupError("usage", "give --identity FILE (an age identity file) or --passphrase-file FILE");
  const identities: string[] = [];
  for (const file of identityFiles) identities.push(...(await readIdentityFile(file)));
  return { identities };
}

/** Progress on a terminal: at most ~5 updates a second. */
function progress(io: BackupIo): Progress | undefined {
  const write = io.progress;
  if (!write) return undefined;
  let last = 0;
  return (table, done, total) => {
    const now = Date.now();
    if (now - last < 200 && done < total) return;
    last = now;
    write(`${table}: ${done.toLocaleString("en-US")} / ${total.toLocaleString("en-US")} rows`);
  };
}

function endProgress(io: BackupIo): void {
  io.progress?.("");
}

function report(print: (line: string) => void, json: boolean, value: Record<string, unknown>, text: () => string[]): void {
  if (json) print(JSON.stringify(value));
  else for (const line of text()) print(line);
}

function summary(verb: string, path: string, header: BackupHeader, manifest: BackupManifest, bytes: number | null): string[] {
  const tables = Object.entries(manifest.tables);
  const rows = tables.reduce((sum, [, t]) => sum + t.rows, 0);
  const width = Math.max(...tables.map(([name]) => name.length));
  return [
    `${verb} ${path}${bytes === null ? "" : ` (${formatBytes(bytes)})`}`,
    `made ${header.created_at} at migration ${header.migrations.last} (${header.migrations.count}); ${tables.length} tables, ${rows.toLocaleString("en-US")} rows`,
    ...tables.map(([name, t]) => `  ${name.padEnd(width)}  ${String(t.rows).padStart(9)} rows  sha256 ${t.sha256.slice(0, 16)}…`),
    `data keys wrapped by master key(s): ${header.master_key_ids.join(", ") || "none yet"}`,
  ];
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * Whether a master key is configured: the environment's, an HSM's, or (dev
 * mode) the generated key file. `backup verify` checks the origin only then;
 * it never generates a key.
 */
function masterKeyConfigured(config: Config): boolean {
  return Boolean(config.masterKey || config.masterKeys || config.pkcs11 || (config.dev && existsSync(join(config.dataDir, DEV_KEY_FILE))));
}

/** For `keys rotate`: a StartupError that says how to skip the backup it could not take. */
export function backupFailed(error: unknown): StartupError {
  const message = error instanceof Error ? error.message : String(error);
  return new StartupError(`the backup before rotation failed: ${message}; nothing was rotated (--no-backup skips it)`, 1);
}

/** The backup `keys rotate` takes first: where it goes (default: the data folder) and who can open it. */
export interface RotationBackup {
  out: string | undefined;
  keys: SealingKeys;
}

/**
 * Reads `keys rotate`'s backup flags before any work: null when told not to
 * back up (`--no-backup`) or when nothing is written (`--dry-run`); without
 * a recipient or passphrase the rotation is refused, since a backup nobody
 * can open is none.
 */
export async function rotationBackupOptions(flags: {
  noBackup: boolean;
  dryRun: boolean;
  out: string | undefined;
  recipients: string[];
  passphraseFile: string | undefined;
}): Promise<RotationBackup | null> {
  if (flags.noBackup || flags.dryRun) return null;
  if (flags.recipients.length === 0 && !flags.passphraseFile) {
    throw new StartupError(
      "keys rotate takes a backup first: give --backup-recipient age1... (repeatable) or --backup-passphrase-file FILE, or --no-backup to rotate without one",
      2,
    );
  }
  try {
    return { out: flags.out, keys: await sealingKeys(flags.recipients, flags.passphraseFile) };
  } catch (error) {
    if (error instanceof BackupError) throw new StartupError(error.message.replace(/--recipient|--passphrase-file/g, (flag) => `--backup-${flag.slice(2)}`), 2);
    throw error;
  }
}

/** Takes the backup before a rotation, into `--backup-out` or `<data folder>/backups/keys-rotate-<time>.age`. */
export async function backupBeforeRotation(db: Db, config: Config, backup: RotationBackup, keyring: Keyring): Promise<{ file: string; bytes: number; rows: number }> {
  const file = backup.out ?? join(config.dataDir, "backups", `keys-rotate-${new Date().toISOString().replace(/[:.]/g, "-")}.age`);
  try {
    if (!backup.out) await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const made = await createBackup(db, { out: file, keys: backup.keys, keyring });
    return { file, bytes: made.bytes, rows: Object.values(made.manifest.tables).reduce((sum, t) => sum + t.rows, 0) };
  } catch (error) {
    throw backupFailed(error);
  }
}
