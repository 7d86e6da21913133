// @switchyard/pkcs11: master keys held in an HSM (any PKCS#11 token), as
// key-encryption providers of @switchyard/crypto's keyring. Takes typed
// options; reads no environment. The key never leaves the token.
export { createPkcs11Key } from "./create-key.ts";
export { Pkcs11Error } from "./errors.ts";
export { KEY_LABEL_RULE, openPkcs11Token } from "./token.ts";

export type { Pkcs11ErrorCode } from "./errors.ts";
export type { Pkcs11Options, Pkcs11Token } from "./token.ts";
