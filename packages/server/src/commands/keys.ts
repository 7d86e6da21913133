import { generateMasterKey, type Keyring } from "@switchyard/crypto";
import { rotateDataKeys, type RotationProgress, type RotationReport } from "@switchyard/core";
import type { Config } from "../config.ts";
import { createLogger } from "../logger.ts";
import { loadKeyring } from "../master-keys.ts";
import { migrateOrExplain, openDatabase } from "../runtime.ts";
import { StartupError } from "../startup-error.ts";
import { backupBeforeRotation, type RotationBackup } from "./backup.ts";

/** `switchyard keys generate`: a new random master key, printed for the operator to store. */
export function runKeysGenerate(id: string | undefined, print: (line: string) => void): void {
  if (id !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
    throw new StartupError("--id must be 1-64 letters, digits, '_' or '-'", 2);
  }
  const key = generateMasterKey();
  if (id) print(`${id}:${key}`);
  else print(key);
}

export interface KeysRotateOptions {
  /** Report what would change; write nothing. */
  dryRun: boolean;
  /**
   * Where the data keys go: `pkcs11` (the first SWITCHYARD_PKCS11_KEY_LABEL),
   * `environment` (the first SWITCHYARD_MASTER_KEYS entry, or k1), or one key
   * id (`pkcs11:master-2`, `k2`). By default the key that wraps at start: the
   * HSM's when one is configured, else the environment's.
   */
  to?: string | undefined;
  /** Print one JSON object instead of lines. */
  json: boolean;
  /** The backup taken before any data key is rewritten; null when told not to (`--no-backup`) or on a dry run. */
  backup?: RotationBackup | null;
  /** Progress lines go here when it is a terminal (stderr by default). */
  progress?: NodeJS.WriteStream;
}

/**
 * `switchyard keys rotate`: re-wraps every data key under one master key,
 * moving them between providers if need be (environment key → HSM, HSM key 1
 * → HSM key 2, and back). Every key that wrapped something must still be
 * configured while it runs. Safe to kill and run again; `--dry-run` only reports.
 */
export async function runKeysRotate(config: Config, options: KeysRotateOptions, print: (line: string) => void): Promise<void> {
  const loaded = await loadKeyring(config);
  try {
    const keyring = target(loaded.keyring, options.to);
    const logger = createLogger({ ...config, logLevel: "warn" });
    const database = await openDatabase(config, logger, "keys-rotate");
    try {
      await migrateOrExplain(database, logger);
      // A rotation is resumable and loses nothing, but an operator's worst
      // day starts here: the backup comes before any row is rewritten.
      const backup = options.backup ? await backupBeforeRotation(database.db, config, options.backup, loaded.keyring) : null;
      if (backup && !options.json) print(`backup before rotation: ${backup.file} (${backup.rows} rows, ${backup.bytes} bytes)`);
      const meter = progressMeter(options.progress ?? process.stderr, options.dryRun);
      const report = await rotateDataKeys(database.db, keyring, { dryRun: options.dryRun, onProgress: meter.update });
      meter.done();
      if (options.json) print(JSON.stringify({ ...toJson(report, keyring), ...(backup ? { backup } : {}) }));
      else printSummary(report, keyring, print);
      if (report.failed.length > 0) {
        throw new StartupError(
          `${report.failed.length} data key(s) could not be re-wrapped; configure the master keys that wrapped them (SWITCHYARD_MASTER_KEYS, SWITCHYARD_PKCS11_KEY_LABEL) and run again`,
          1,
        );
      }
    } finally {
      await database.close();
    }
  } finally {
    loaded.close();
  }
}

/** The configured keyring with the `--to` key wrapping. */
function target(keyring: Keyring, to: string | undefined): Keyring {
  if (to === undefined) return keyring;
  const kind = to === "pkcs11" || to === "environment" ? to : null;
  const id = kind ? keyring.ids.find((k) => keyring.kindOf(k) === kind) : keyring.has(to) ? to : undefined;
  if (id !== undefined) return keyring.withActive(id);
  const configured = keyring.ids.map((k) => `${k} (${keyring.kindOf(k)})`).join(", ");
  const hint =
    kind === "pkcs11"
      ? "set SWITCHYARD_PKCS11_MODULE, SWITCHYARD_PKCS11_TOKEN_LABEL (or _SLOT), SWITCHYARD_PKCS11_KEY_LABEL and SWITCHYARD_PKCS11_PIN_FILE"
      : kind === "environment"
        ? "set SWITCHYARD_MASTER_KEY or SWITCHYARD_MASTER_KEYS"
        : "give pkcs11, environment, or a configured key id";
  throw new StartupError(`--to ${to}: no such master key is configured (configured: ${configured}); ${hint}`, 2);
}

function printSummary(report: RotationReport, keyring: Keyring, print: (line: string) => void): void {
  const verb = report.dryRun ? "would re-wrap" : "re-wrapped";
  print(`active master key: ${report.target} (${keyring.kindOf(report.target)})`);
  print(`${verb} ${report.rewrapped} data key(s); ${report.current} already under the active key`);
  for (const [from, count] of Object.entries(report.from)) {
    print(`  from ${from} (${keyring.kindOf(from) ?? "not configured"}): ${count}`);
  }
  for (const failure of report.failed) {
    print(`cannot re-wrap ${failure.id} (wrapped by ${failure.masterKeyId}): ${failure.reason}`);
  }
}

function toJson(report: RotationReport, keyring: Keyring) {
  return {
    target: { id: report.target, provider: keyring.kindOf(report.target) },
    dry_run: report.dryRun,
    already_current: report.current,
    rewrapped: report.rewrapped,
    from: Object.entries(report.from).map(([id, count]) => ({ id, provider: keyring.kindOf(id) ?? null, count })),
    failed: report.failed.map((f) => ({ id: f.id, master_key_id: f.masterKeyId, reason: f.reason })),
  };
}

/** A one-line counter redrawn at most ten times a second, on a terminal only. */
function progressMeter(stream: NodeJS.WriteStream, dryRun: boolean) {
  let last = 0;
  let shown = false;
  const line = (p: RotationProgress) =>
    `\r${dryRun ? "checking" : "re-wrapping"} data keys: ${p.done}/${p.pending}${p.failed > 0 ? ` (${p.failed} failed)` : ""}`;
  return {
    update(progress: RotationProgress) {
      if (!stream.isTTY) return;
      const now = Date.now();
      if (now - last < 100 && progress.done < progress.pending) return;
      last = now;
      shown = true;
      stream.write(line(progress));
    },
    done() {
      if (shown) stream.write("\n");
    },
  };
}
