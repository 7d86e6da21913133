import { realpathSync } from "node:fs";
import { createRequire } from "node:module";
import type * as Pkcs11js from "pkcs11js";
import { ckr, Pkcs11Error } from "./errors.ts";

// pkcs11js is CommonJS with ambient types; require() gives its exports whole.
export const pkcs11js = createRequire(import.meta.url)("pkcs11js") as typeof Pkcs11js;
export type Handle = Pkcs11js.Handle;
export type PKCS11 = Pkcs11js.PKCS11;

// A module is initialized once per process (C_Initialize twice fails with
// CKR_CRYPTOKI_ALREADY_INITIALIZED), so tokens of one module share it and the
// last one closed finalizes it.
const loaded = new Map<string, { lib: PKCS11; users: number }>();

/** Loads and initializes the PKCS#11 module at `path`, shared by every token of it in this process. */
export function acquireModule(path: string): { lib: PKCS11; release(): void } {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (cause) {
    throw new Pkcs11Error("module_not_found", `SWITCHYARD_PKCS11_MODULE: no PKCS#11 module at ${path} (${(cause as NodeJS.ErrnoException).code ?? "unreadable"})`, { cause });
  }
  let entry = loaded.get(real);
  if (!entry) {
    const lib = new pkcs11js.PKCS11();
    try {
      lib.load(real);
    } catch (cause) {
      throw new Pkcs11Error("module_unusable", `SWITCHYARD_PKCS11_MODULE: ${path} cannot be loaded as a PKCS#11 module (${ckr(cause)})`, { cause });
    }
    try {
      lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    } catch (cause) {
      if ((cause as { code?: number }).code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        throw new Pkcs11Error("module_unusable", `SWITCHYARD_PKCS11_MODULE: ${path} refused C_Initialize (${ckr(cause)})`, { cause });
      }
    }
    entry = { lib, users: 0 };
    loaded.set(real, entry);
  }
  entry.users += 1;
  const held = entry;
  let released = false;
  return {
    lib: held.lib,
    release() {
      if (released) return;
      released = true;
      held.users -= 1;
      if (held.users > 0) return;
      loaded.delete(real);
      try {
        held.lib.C_Finalize();
      } catch {
        // Finalizing is a courtesy to the module at shutdown; nothing depends on it.
      }
    },
  };
}

/** A slot handle as the number tools print (softhsm2-util, pkcs11-tool). */
export function handleNumber(handle: Handle): bigint {
  return handle.length >= 8 ? handle.readBigUInt64LE(0) : BigInt(handle.readUInt32LE(0));
}
