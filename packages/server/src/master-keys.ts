import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generateMasterKey, Keyring, parseKeyring } from "@switchyard/crypto";
import type { Pkcs11Token } from "@switchyard/pkcs11";
import type { Config, Pkcs11Config } from "./config.ts";
import { StartupError } from "./startup-error.ts";

export const DEV_KEY_FILE = "master.key";

export interface LoadedKeyring {
  keyring: Keyring;
  /** Set when dev mode generated or read the key from the data folder. */
  devKeyFile?: { path: string; created: boolean };
  /** The HSM's token and label, when SWITCHYARD_PKCS11_* is set. */
  pkcs11?: { tokenLabel: string; keyIds: string[] };
  /** What the operator should fix but that does not stop the start (logged by serve as warnings). */
  warnings: string[];
  /** Releases what the keys hold (the PKCS#11 session); the keyring is unusable after. */
  close(): void;
}

/**
 * Builds the master keyring from the configuration before any database work:
 * the HSM's keys (SWITCHYARD_PKCS11_*) first, so the HSM wraps new data keys
 * once it is configured, then the environment's (SWITCHYARD_MASTER_KEY(S)),
 * which still unwrap what they wrapped until `keys rotate --to pkcs11` has
 * moved it. Outside dev mode a missing or bad key, and any PKCS#11 refusal (a
 * missing module, token or key, a wrong PIN), stops the start with its own
 * message. In dev mode alone, with no HSM and no key, one is generated into
 * the data folder (mode 0600) and read from there afterwards; there is never
 * an unencrypted mode.
 */
export async function loadKeyring(config: Config): Promise<LoadedKeyring> {
  const parsed = parseKeyring({ masterKey: config.masterKey, masterKeys: config.masterKeys, allowWeak: config.dev });
  const needsEnvironmentKey = config.pkcs11 === null;
  if (!parsed.ok && (parsed.error.code !== "missing_key" || (needsEnvironmentKey && !config.dev))) {
    throw new StartupError(`cannot start: ${parsed.error.message}`);
  }
  let environment = parsed.ok ? parsed.value : null;
  let devKeyFile: LoadedKeyring["devKeyFile"];
  if (environment === null && needsEnvironmentKey) {
    const path = join(config.dataDir, DEV_KEY_FILE);
    const { key, created } = await readOrCreateDevKey(path);
    const fromFile = parseKeyring({ masterKey: key, allowWeak: true });
    if (!fromFile.ok) throw new StartupError(`cannot start: the dev key in ${path} is unusable: ${fromFile.error.message}`);
    environment = fromFile.value;
    devKeyFile = { path, created };
  }
  const warnings: string[] = [];
  const token = config.pkcs11 ? await openToken(config.pkcs11, warnings) : null;
  const providers = [...(token?.keys ?? []), ...(environment?.providers ?? [])];
  let keyring: Keyring;
  try {
    keyring = Keyring.fromProviders(providers);
  } catch (error) {
    token?.close();
    throw new StartupError(`cannot start: ${(error as Error).message}`);
  }
  return {
    keyring,
    ...(devKeyFile ? { devKeyFile } : {}),
    ...(token ? { pkcs11: { tokenLabel: token.tokenLabel, keyIds: token.keys.map((k) => k.id) } } : {}),
    warnings,
    close: () => token?.close(),
  };
}

async function openToken(settings: Pkcs11Config, warnings: string[]): Promise<Pkcs11Token> {
  const pin = await readPin(settings.pinFile);
  // Warned, not refused (unlike the dev key file): the PIN alone opens nothing
  // without the token, and mounted secrets often come group-readable.
  const mode = (await stat(settings.pinFile)).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    warnings.push(`SWITCHYARD_PKCS11_PIN_FILE ${settings.pinFile} is readable by ${mode & 0o007 ? "others" : "its group"} (mode ${mode.toString(8)}): chmod 600 it`);
  }
  // Loaded only when configured: the native binding stays out of every other start.
  const { openPkcs11Token, Pkcs11Error } = await import("@switchyard/pkcs11");
  try {
    return openPkcs11Token({ module: settings.module, slot: settings.slot, tokenLabel: settings.tokenLabel, keyLabels: settings.keyLabels, pin });
  } catch (error) {
    if (error instanceof Pkcs11Error) throw new StartupError(`cannot start: ${error.message}`);
    throw error;
  }
}

async function readPin(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new StartupError(`cannot start: SWITCHYARD_PKCS11_PIN_FILE: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  // One line; the newline an editor or `echo` adds is not part of the PIN.
  const pin = text.replace(/\r?\n$/, "");
  if (pin === "" || pin.includes("\n")) throw new StartupError(`cannot start: SWITCHYARD_PKCS11_PIN_FILE: ${path} must hold the PIN on one line`);
  return pin;
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
