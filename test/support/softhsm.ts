import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPkcs11Key } from "@switchyard/pkcs11";

/** Debian's softhsm2 package puts its PKCS#11 module here. */
export const SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so";

const mustRun = process.env.CI === "true" || process.env.CI === "1";

function installed(): boolean {
  if (!existsSync(SOFTHSM_MODULE)) return false;
  try {
    execFileSync("softhsm2-util", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether SoftHSM2 tests run here. Under CI=true they always run, so a
 * missing softhsm2 fails them (.ci/run installs it); elsewhere they skip, loudly.
 */
export function softHsmAvailable(): boolean {
  if (installed() || mustRun) return true;
  console.warn(`\n!!! SKIPPING SoftHSM2 tests: ${SOFTHSM_MODULE} or softhsm2-util is missing (apt-get install softhsm2) !!!\n`);
  return false;
}

export interface SoftHsm {
  dir: string;
  module: string;
  tokenLabel: string;
  pin: string;
  /** A file holding the PIN, as SWITCHYARD_PKCS11_PIN_FILE reads it. */
  pinFile: string;
  /** SOFTHSM2_CONF for child processes; this process has it set already. */
  env: { SOFTHSM2_CONF: string };
  /** Makes a non-extractable AES-256 key on the token. */
  createKey(label: string): void;
  /** The PKCS#11 settings of `switchyard` for this token and these key labels. */
  switchyardEnv(keyLabels: string): Record<string, string>;
  remove(): Promise<void>;
}

/**
 * A SoftHSM2 token of its own in a temporary directory: its own config
 * (`directories.tokendir` inside the directory) named by SOFTHSM2_CONF, so no
 * system token or config is read or touched. SoftHSM reads SOFTHSM2_CONF when
 * the module initializes, so this sets it for this process too: one token
 * directory per test file.
 */
export async function createSoftHsm(options: { tokenLabel?: string; pin?: string; keyLabels?: string[] } = {}): Promise<SoftHsm> {
  if (!installed()) throw new Error(`SoftHSM2 is not installed (${SOFTHSM_MODULE}, softhsm2-util): apt-get install softhsm2`);
  const dir = await mkdtemp(join(tmpdir(), "sy-softhsm-"));
  await mkdir(join(dir, "tokens"), { mode: 0o700 });
  const conf = join(dir, "softhsm2.conf");
  await writeFile(conf, `directories.tokendir = ${join(dir, "tokens")}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env.SOFTHSM2_CONF = conf;
  const tokenLabel = options.tokenLabel ?? "switchyard-test";
  const pin = options.pin ?? "4817-2953";
  execFileSync("softhsm2-util", ["--init-token", "--free", "--label", tokenLabel, "--pin", pin, "--so-pin", "so-7741"], {
    env: { ...process.env, SOFTHSM2_CONF: conf },
    stdio: "ignore",
  });
  const pinFile = join(dir, "pin");
  await writeFile(pinFile, `${pin}\n`, { mode: 0o600 });
  const hsm: SoftHsm = {
    dir,
    module: SOFTHSM_MODULE,
    tokenLabel,
    pin,
    pinFile,
    env: { SOFTHSM2_CONF: conf },
    createKey: (label) => createPkcs11Key({ module: SOFTHSM_MODULE, tokenLabel, pin }, label),
    switchyardEnv: (keyLabels) => ({
      SOFTHSM2_CONF: conf,
      SWITCHYARD_PKCS11_MODULE: SOFTHSM_MODULE,
      SWITCHYARD_PKCS11_TOKEN_LABEL: tokenLabel,
      SWITCHYARD_PKCS11_KEY_LABEL: keyLabels,
      SWITCHYARD_PKCS11_PIN_FILE: pinFile,
    }),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
  for (const label of options.keyLabels ?? []) hsm.createKey(label);
  return hsm;
}
