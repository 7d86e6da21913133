import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generateMasterKey, parseKeyring, type Keyring } from "@switchyard/crypto";
import type { Config } from "./config.ts";
import { StartupError } from "./startup-error.ts";

export const DEV_KEY_FILE = "master.key";

export interface LoadedKeyring {
  keyring: Keyring;
  /** Set when dev mode generated or read the key from the data folder. */
  devKeyFile?: { path: string; created: boolean };
}

/**
 * Builds the master keyring from the configuration before any database work.
 * Outside dev mode a missing or bad key stops the start. In dev mode alone a
 * missing key is generated once into the data folder (mode 0600) and read from
 * there afterwards; there is never an unencrypted mode.
 */
export async function loadKeyring(config: Config): Promise<LoadedKeyring> {
  const parsed = parseKeyring({ masterKey: config.masterKey, masterKeys: config.masterKeys, allowWeak: config.dev });
  if (parsed.ok) return { keyring: parsed.value };
  if (parsed.error.code !== "missing_key" || !config.dev) {
    throw new StartupError(`cannot start: ${parsed.error.message}`);
  }
  const path = join(config.dataDir, DEV_KEY_FILE);
  const { key, created } = await readOrCreateDevKey(path);
  const fromFile = parseKeyring({ masterKey: key, allowWeak: true });
  if (!fromFile.ok) throw new StartupError(`cannot start: the dev key in ${path} is unusable: ${fromFile.error.message}`);
  return { keyring: fromFile.value, devKeyFile: { path, created } };
}

async function readOrCreateDevKey(path: string): Promise<{ key: string; created: boolean }> {
  try {
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0) {
      throw new StartupError(`cannot start: ${path} is readable by others (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it`);
    }
    return { key: (await readFile(path, "utf8")).trim(), created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await mkdir(join(path, ".."), { recursive: true, mode: 0o700 });
  const key = generateMasterKey();
  try {
    // `wx`: if another process created it first, use theirs.
    await writeFile(path, `${key}\n`, { mode: 0o600, flag: "wx" });
    return { key, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return { key: (await readFile(path, "utf8")).trim(), created: false };
  }
}
