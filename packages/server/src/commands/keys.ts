import { generateMasterKey } from "@switchyard/crypto";
import { rotateDataKeys } from "@switchyard/core";
import type { Config } from "../config.ts";
import { createLogger } from "../logger.ts";
import { loadKeyring } from "../master-keys.ts";
import { migrateOrExplain, openDatabase } from "../runtime.ts";
import { StartupError } from "../startup-error.ts";

/** `switchyard keys generate`: a new random master key, printed for the operator to store. */
export function runKeysGenerate(id: string | undefined, print: (line: string) => void): void {
  if (id !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
    throw new StartupError("--id must be 1-64 letters, digits, '_' or '-'", 2);
  }
  const key = generateMasterKey();
  if (id) print(`${id}:${key}`);
  else print(key);
}

/**
 * `switchyard keys rotate`: re-wraps every data key under the active master
 * key. Safe to kill and run again; `--dry-run` only reports.
 */
export async function runKeysRotate(config: Config, dryRun: boolean, print: (line: string) => void): Promise<void> {
  const { keyring } = await loadKeyring(config);
  const logger = createLogger({ ...config, logLevel: "warn" });
  const database = await openDatabase(config, logger, "keys-rotate");
  try {
    await migrateOrExplain(database, logger);
    const report = await rotateDataKeys(database.db, keyring, { dryRun });
    const verb = dryRun ? "would re-wrap" : "re-wrapped";
    print(`active master key: ${keyring.activeId}`);
    print(`${verb} ${report.rewrapped} data key(s); ${report.current} already under the active key`);
    for (const failure of report.failed) {
      print(`cannot re-wrap ${failure.id} (wrapped by ${failure.masterKeyId}): ${failure.reason}`);
    }
    if (report.failed.length > 0) {
      throw new StartupError(
        `${report.failed.length} data key(s) could not be re-wrapped; add their master keys to SWITCHYARD_MASTER_KEYS and run again`,
        1,
      );
    }
  } finally {
    await database.close();
  }
}
