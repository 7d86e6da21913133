import { randomBytes } from "node:crypto";
import { CryptoError, encodeHeader, parseSealed, type KeyEncryptionProvider } from "@switchyard/crypto";
import { acquireModule, handleNumber, pkcs11js, type Handle, type PKCS11 } from "./binding.ts";
import { ckr, Pkcs11Error } from "./errors.ts";

/** Where the master keys are: a module, a token (by slot id or label), the keys' labels, the user PIN. */
export interface Pkcs11Options {
  /** Path of the vendor's PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  module: string;
  /** The token's slot id as the vendor's tools print it; or give `tokenLabel`. */
  slot?: bigint | number | undefined;
  /** The token's label; or give `slot`. */
  tokenLabel?: string | undefined;
  /** Labels of AES-256 secret keys on the token; the first wraps, all unwrap. */
  keyLabels: readonly string[];
  /** The user PIN. */
  pin: string;
  /**
   * After a lost session whose re-login failed for any reason but the PIN
   * (token removed, HSM down), how long calls fail at once before one of them
   * tries again. A refused PIN is never tried again: restart with the right one.
   */
  reloginBackoffMs?: number;
}

/** An open, logged-in token and its keys as key-encryption providers. */
export interface Pkcs11Token {
  /** One provider per key label, in the order given: `keys[0]` is the one to wrap with. */
  readonly keys: readonly KeyEncryptionProvider[];
  readonly tokenLabel: string;
  readonly slot: bigint;
  /** Logs out, closes the session and, with the last token of the module, finalizes it. */
  close(): void;
}

/** Key labels become key ids `pkcs11:<label>`, which must fit a blob's header. */
export const KEY_LABEL = /^[A-Za-z0-9_.-]{1,57}$/;
export const KEY_LABEL_RULE = "1-57 characters of A-Z a-z 0-9 _ . -";

const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const AES_256_BYTES = 32;

// Errors after which the session is gone but the token may well be back:
// reopen and log in again once, rather than fail every call until a restart.
const SESSION_LOST = new Set([
  pkcs11js.CKR_SESSION_HANDLE_INVALID,
  pkcs11js.CKR_SESSION_CLOSED,
  pkcs11js.CKR_USER_NOT_LOGGED_IN,
  pkcs11js.CKR_DEVICE_REMOVED,
  pkcs11js.CKR_TOKEN_NOT_PRESENT,
  pkcs11js.CKR_OBJECT_HANDLE_INVALID,
  pkcs11js.CKR_KEY_HANDLE_INVALID,
]);

/**
 * Opens a token, logs in, finds each key, and checks that it is an AES-256
 * key that encrypts and decrypts and cannot be extracted, and that the token
 * does AES-GCM with it. Every refusal is a `Pkcs11Error` with its own code:
 * a missing module, token or key and a wrong PIN each say so.
 *
 * Data keys are wrapped inside the token with CKM_AES_GCM (a fresh 96-bit IV
 * per wrap, 128-bit tag), in the layout of `@switchyard/crypto`'s `seal`
 * under the key id `pkcs11:<label>`: the master key never leaves the token.
 *
 * PKCS#11 sessions must not run two operations at once. Every wrap and
 * unwrap runs C_*Init and C_Encrypt/C_Decrypt in one synchronous stretch on
 * the one session: Node runs JavaScript on one thread, so concurrent async
 * callers are serialized without a lock and never interleave on the session.
 *
 * @example
 * const token = openPkcs11Token({ module: "/usr/lib/softhsm/libsofthsm2.so", tokenLabel: "switchyard", keyLabels: ["master-2", "master-1"], pin });
 * const keyring = Keyring.fromProviders(token.keys);
 */
export function openPkcs11Token(options: Pkcs11Options): Pkcs11Token {
  if (options.keyLabels.length === 0) throw new Pkcs11Error("invalid_options", "SWITCHYARD_PKCS11_KEY_LABEL names no key");
  for (const label of options.keyLabels) {
    if (!KEY_LABEL.test(label)) throw new Pkcs11Error("invalid_options", `SWITCHYARD_PKCS11_KEY_LABEL: a key label must be ${KEY_LABEL_RULE}`);
  }
  if ((options.slot === undefined) === (options.tokenLabel === undefined)) {
    throw new Pkcs11Error("invalid_options", "set one of SWITCHYARD_PKCS11_SLOT and SWITCHYARD_PKCS11_TOKEN_LABEL");
  }
  const module = acquireModule(options.module);
  try {
    return openOn(module.lib, options, module.release);
  } catch (error) {
    module.release();
    throw error;
  }
}

function openOn(lib: PKCS11, options: Pkcs11Options, release: () => void): Pkcs11Token {
  const { slot, label: tokenLabel } = findToken(lib, options);
  let session = login(lib, slot, tokenLabel, options.pin);
  let handles = new Map(options.keyLabels.map((label) => [label, findKey(lib, session, tokenLabel, label)]));

  const backoffMs = options.reloginBackoffMs ?? 30_000;
  // The last re-login that failed. Each C_Login with a wrong PIN (changed on
  // the token, say) spends one of the token's PIN retries, and every call
  // after a lost session would try again: a busy service would lock the PIN
  // in a moment. So a refused PIN stops all use of the token until restart,
  // and any other failure holds calls off for `backoffMs`. Calls are
  // synchronous, so one re-login runs at a time: the concurrent callers
  // behind it find it failed here instead of each logging in.
  let relogin: { at: number; error: Pkcs11Error } | null = null;
  const pinRefused = () => relogin !== null && (relogin.error.code === "pin_incorrect" || relogin.error.code === "pin_locked");

  // Runs one token operation; if the session was lost (token reinserted,
  // HSM restarted), logs in again once and retries.
  const withSession = <T>(label: string, run: (session: Handle, key: Handle) => T): T => {
    if (relogin && (pinRefused() || Date.now() - relogin.at < backoffMs)) throw stopped(relogin.error, pinRefused());
    try {
      return run(session, handles.get(label)!);
    } catch (error) {
      if (!SESSION_LOST.has((error as { code?: number }).code ?? -1)) throw error;
      try {
        lib.C_CloseSession(session);
      } catch {
        // Already gone: that is why we are here.
      }
      try {
        session = login(lib, slot, tokenLabel, options.pin);
        handles = new Map(options.keyLabels.map((l) => [l, findKey(lib, session, tokenLabel, l)]));
        relogin = null;
      } catch (failed) {
        const cause = failed instanceof Pkcs11Error ? failed : new Pkcs11Error("login_failed", `cannot log in to token ${JSON.stringify(tokenLabel)} again (${ckr(failed)})`, { cause: failed });
        relogin = { at: Date.now(), error: cause };
        throw stopped(cause, pinRefused());
      }
      return run(session, handles.get(label)!);
    }
  };

  const syncKeys = options.keyLabels.map((label) => gcmKey(lib, label, withSession));
  for (const key of syncKeys) probe(key, tokenLabel);
  const keys = syncKeys.map(asProvider);

  let closed = false;
  return {
    keys,
    tokenLabel,
    slot: handleNumber(slot),
    close() {
      if (closed) return;
      closed = true;
      try {
        lib.C_Logout(session);
        lib.C_CloseSession(session);
      } catch {
        // The module is finalized next; a session it already dropped changes nothing.
      }
      release();
    },
  };
}

/** The error every call gets while re-login is held off: what failed, and what it takes to come back. */
function stopped(cause: Pkcs11Error, forGood: boolean): Pkcs11Error {
  return new Pkcs11Error(
    cause.code,
    forGood
      ? `the token's session was lost and logging in again failed: ${cause.message}; not trying again until restart (each wrong PIN spends one of the token's retries): fix SWITCHYARD_PKCS11_PIN_FILE and restart`
      : `the token's session was lost and logging in again failed: ${cause.message}; trying again shortly`,
    { cause },
  );
}

function findToken(lib: PKCS11, options: Pkcs11Options): { slot: Handle; label: string } {
  const present = lib.C_GetSlotList(true).map((slot) => ({ slot, label: lib.C_GetTokenInfo(slot).label.trim() }));
  const found =
    options.slot !== undefined
      ? present.find((t) => handleNumber(t.slot) === BigInt(options.slot!))
      : present.find((t) => t.label === options.tokenLabel);
  if (found) return found;
  const known = present.map((t) => `${handleNumber(t.slot)} ${JSON.stringify(t.label)}`).join(", ") || "none";
  const wanted = options.slot !== undefined ? `in slot ${options.slot} (SWITCHYARD_PKCS11_SLOT)` : `labelled ${JSON.stringify(options.tokenLabel)} (SWITCHYARD_PKCS11_TOKEN_LABEL)`;
  throw new Pkcs11Error("token_not_found", `no PKCS#11 token ${wanted}; tokens present: ${known}`);
}

function login(lib: PKCS11, slot: Handle, tokenLabel: string, pin: string): Handle {
  const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
  try {
    lib.C_Login(session, pkcs11js.CKU_USER, pin);
  } catch (error) {
    const code = (error as { code?: number }).code;
    // Login state is per token and process: a second session is already in.
    if (code === pkcs11js.CKR_USER_ALREADY_LOGGED_IN) return session;
    lib.C_CloseSession(session);
    if (code === pkcs11js.CKR_PIN_INCORRECT || code === pkcs11js.CKR_PIN_LEN_RANGE) {
      throw new Pkcs11Error("pin_incorrect", `token ${JSON.stringify(tokenLabel)} refused the PIN in SWITCHYARD_PKCS11_PIN_FILE (${ckr(error)})`, { cause: error });
    }
    if (code === pkcs11js.CKR_PIN_LOCKED || code === pkcs11js.CKR_PIN_EXPIRED) {
      throw new Pkcs11Error("pin_locked", `token ${JSON.stringify(tokenLabel)} has locked or expired its user PIN (${ckr(error)}); reset it with the token's tools`, { cause: error });
    }
    throw new Pkcs11Error("login_failed", `cannot log in to token ${JSON.stringify(tokenLabel)} (${ckr(error)})`, { cause: error });
  }
  return session;
}

function findKey(lib: PKCS11, session: Handle, tokenLabel: string, label: string): Handle {
  lib.C_FindObjectsInit(session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_LABEL, value: label },
  ]);
  let found: Handle[];
  try {
    found = lib.C_FindObjects(session, 2);
  } finally {
    lib.C_FindObjectsFinal(session);
  }
  const [key] = found;
  if (key === undefined) {
    throw new Pkcs11Error("key_not_found", `token ${JSON.stringify(tokenLabel)} holds no secret key labelled ${JSON.stringify(label)} (SWITCHYARD_PKCS11_KEY_LABEL)`);
  }
  if (found.length > 1) {
    throw new Pkcs11Error("key_ambiguous", `token ${JSON.stringify(tokenLabel)} holds more than one secret key labelled ${JSON.stringify(label)}; labels must name one key`);
  }
  const [type, length, encrypt, decrypt, extractable] = lib
    .C_GetAttributeValue(session, key, [
      { type: pkcs11js.CKA_KEY_TYPE },
      { type: pkcs11js.CKA_VALUE_LEN },
      { type: pkcs11js.CKA_ENCRYPT },
      { type: pkcs11js.CKA_DECRYPT },
      { type: pkcs11js.CKA_EXTRACTABLE },
    ])
    .map((a) => readUlong(a.value as Buffer));
  const unusable = (why: string) => new Pkcs11Error("key_unusable", `key ${JSON.stringify(label)} on token ${JSON.stringify(tokenLabel)} ${why}`);
  if (type !== BigInt(pkcs11js.CKK_AES) || length !== BigInt(AES_256_BYTES)) throw unusable("is not an AES-256 key");
  if (encrypt !== 1n || decrypt !== 1n) throw unusable("does not allow both CKA_ENCRYPT and CKA_DECRYPT");
  // The point of the HSM is that the master key never leaves it.
  if (extractable !== 0n) throw unusable("is extractable (CKA_EXTRACTABLE); the master key must never leave the token: make a new key with CKA_EXTRACTABLE false");
  return key;
}

interface SyncKey {
  id: string;
  wrap(plaintext: Uint8Array, aad: Uint8Array): Buffer;
  unwrap(wrapped: Uint8Array, aad: Uint8Array): Buffer;
}

function gcmKey(
  lib: PKCS11,
  label: string,
  withSession: <T>(label: string, run: (session: Handle, key: Handle) => T) => T,
): SyncKey {
  const id = `pkcs11:${label}`;
  const header = encodeHeader(id);
  const mechanism = (iv: Buffer, aad: Uint8Array) => ({
    mechanism: pkcs11js.CKM_AES_GCM,
    parameter: { type: pkcs11js.CK_PARAMS_AES_GCM, iv, aad: Buffer.concat([header, aad]), ivBits: IV_LENGTH * 8, tagBits: TAG_LENGTH * 8 },
  });
  return {
    id,
    wrap(plaintext, aad) {
      requireAad(aad);
      // A fresh random IV per wrap, as seal does: GCM must never repeat one under a key.
      const iv = randomBytes(IV_LENGTH);
      let sealed: Buffer;
      try {
        sealed = withSession(label, (session, key) => {
          lib.C_EncryptInit(session, mechanism(iv, aad), key);
          return Buffer.from(lib.C_Encrypt(session, Buffer.from(plaintext), Buffer.alloc(plaintext.length + TAG_LENGTH)));
        });
      } catch (cause) {
        throw new CryptoError("provider_failed", `the PKCS#11 token could not wrap with key ${id} (${ckr(cause)})`, { cause });
      }
      return Buffer.concat([header, iv, sealed]);
    },
    unwrap(wrapped, aad) {
      requireAad(aad);
      const parts = parseSealed(wrapped);
      if (parts.keyId !== id) throw new CryptoError("unknown_key_id", `ciphertext was sealed with key ${parts.keyId}, not ${id}`);
      const input = Buffer.concat([parts.ciphertext, parts.tag]);
      try {
        return withSession(label, (session, key) => {
          lib.C_DecryptInit(session, mechanism(parts.nonce, aad), key);
          return Buffer.from(lib.C_Decrypt(session, input, Buffer.alloc(input.length)));
        });
      } catch (cause) {
        // Tokens report a tag that fails as CKR_ENCRYPTED_DATA_INVALID (the
        // standard) or CKR_GENERAL_ERROR (SoftHSM): either way, nothing opens.
        throw new CryptoError("decrypt_failed", `ciphertext under key ${id} did not authenticate in the token (wrong key, wrong associated data, or altered: ${ckr(cause)})`, { cause });
      }
    },
  };
}

/**
 * The provider over a key. The work is synchronous (no await between C_*Init
 * and C_Encrypt/C_Decrypt), so concurrent callers never share the session mid-operation.
 */
function asProvider(key: SyncKey): KeyEncryptionProvider {
  return {
    id: key.id,
    kind: "pkcs11",
    wrap: async (plaintext, aad) => key.wrap(plaintext, aad),
    unwrap: async (wrapped, aad) => key.unwrap(wrapped, aad),
  };
}

/** Wraps and unwraps once at start: a token without AES-GCM for the key is refused now, not at the first secret. */
function probe(key: SyncKey, tokenLabel: string): void {
  const sample = randomBytes(AES_256_BYTES);
  const aad = Buffer.from("switchyard/pkcs11-probe");
  try {
    if (!key.unwrap(key.wrap(sample, aad), aad).equals(sample)) throw new Error("the round trip changed the bytes");
  } catch (cause) {
    throw new Pkcs11Error("key_unusable", `key ${key.id} on token ${JSON.stringify(tokenLabel)} cannot wrap and unwrap with CKM_AES_GCM (${ckr(cause)})`, { cause });
  }
}

function requireAad(aad: Uint8Array): void {
  if (!(aad instanceof Uint8Array) || aad.length === 0) {
    throw new CryptoError("aad_required", "associated data is required and must not be empty: name what the plaintext belongs to");
  }
}

function readUlong(value: Buffer): bigint {
  if (value.length === 1) return BigInt(value[0] ?? 0);
  if (value.length >= 8) return value.readBigUInt64LE(0);
  return BigInt(value.readUInt32LE(0));
}
