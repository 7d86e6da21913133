import type { Handle } from "./binding.ts";
import { acquireModule, handleNumber, pkcs11js } from "./binding.ts";
import { ckr, Pkcs11Error } from "./errors.ts";
import { KEY_LABEL, KEY_LABEL_RULE, type Pkcs11Options } from "./token.ts";

/**
 * Generates a master key inside a token: AES-256, stored on the token,
 * private, sensitive and never extractable, usable only to encrypt and
 * decrypt. For operators whose HSM tools cannot make one (softhsm2-util
 * cannot), and for tests. Refuses a label already in use.
 *
 * @example
 * createPkcs11Key({ module, tokenLabel: "switchyard", pin }, "master-2");
 */
export function createPkcs11Key(options: Omit<Pkcs11Options, "keyLabels">, label: string): void {
  if (!KEY_LABEL.test(label)) throw new Pkcs11Error("invalid_options", `a key label must be ${KEY_LABEL_RULE}`);
  const module = acquireModule(options.module);
  const { lib } = module;
  try {
    const slot = lib
      .C_GetSlotList(true)
      .find((s) => (options.tokenLabel !== undefined ? lib.C_GetTokenInfo(s).label.trim() === options.tokenLabel : handleNumber(s) === BigInt(options.slot ?? -1)));
    if (!slot) throw new Pkcs11Error("token_not_found", `no PKCS#11 token ${options.tokenLabel !== undefined ? `labelled ${JSON.stringify(options.tokenLabel)}` : `in slot ${options.slot}`}`);
    const session: Handle = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    try {
      try {
        lib.C_Login(session, pkcs11js.CKU_USER, options.pin);
      } catch (error) {
        if ((error as { code?: number }).code !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) throw new Pkcs11Error("login_failed", `cannot log in (${ckr(error)})`, { cause: error });
      }
      lib.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_LABEL, value: label }]);
      const existing = lib.C_FindObjects(session, 1);
      lib.C_FindObjectsFinal(session);
      if (existing.length > 0) throw new Pkcs11Error("key_ambiguous", `the token already holds an object labelled ${JSON.stringify(label)}`);
      lib.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
        { type: pkcs11js.CKA_LABEL, value: label },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
        { type: pkcs11js.CKA_ENCRYPT, value: true },
        { type: pkcs11js.CKA_DECRYPT, value: true },
        { type: pkcs11js.CKA_WRAP, value: false },
        { type: pkcs11js.CKA_UNWRAP, value: false },
      ]);
    } finally {
      lib.C_CloseSession(session);
    }
  } finally {
    module.release();
  }
}
