import { Keyring } from "./keyring.ts";
import { isValidKeyId, KEY_ID_RULE } from "./key-id.ts";
import type { Result } from "./result.ts";
import { KEY_LENGTH, SecretKey } from "./secret-key.ts";
import { BASE64_HINTS, decodeStrictBase64 } from "./strict-base64.ts";
import { weakKeyReason } from "./weak-keys.ts";

export type KeyringErrorCode =
  | "missing_key"
  | "malformed_key"
  | "wrong_key_length"
  | "malformed_keyring"
  | "duplicate_key_id"
  | "weak_key"
  | "conflicting_key_settings";

type KeyVariable = "SWITCHYARD_MASTER_KEY" | "SWITCHYARD_MASTER_KEYS";

/**
 * Why the master key settings were refused. `message` names the variable and
 * what is wrong with it, and never contains key material, so the server can
 * print it as it is and stop.
 */
export interface KeyringError {
  code: KeyringErrorCode;
  variable: KeyVariable;
  message: string;
}

/** The raw values of the two settings; `allowWeak` only in dev mode. */
export interface KeyringInput {
  masterKey?: string | undefined;
  masterKeys?: string | undefined;
  allowWeak?: boolean;
}

/**
 * The id `SWITCHYARD_MASTER_KEY` gets. Fixed, so rows sealed under it still
 * open after moving to `SWITCHYARD_MASTER_KEYS=k2:<new>,k1:<same key>`.
 */
export const SINGLE_MASTER_KEY_ID = "k1";

/**
 * Parses the master key settings into a keyring, or says precisely which
 * setting is wrong. Takes the values as arguments: nothing here reads
 * `process.env`.
 *
 * @example
 * const parsed = parseKeyring({
 *   masterKey: env.SWITCHYARD_MASTER_KEY,
 *   masterKeys: env.SWITCHYARD_MASTER_KEYS,
 * });
 * if (!parsed.ok) throw new Error(parsed.error.message);
 */
export function parseKeyring(input: KeyringInput): Result<Keyring, KeyringError> {
  // An empty variable is treated as unset: `FOO=` in an env file means "none".
  const single = input.masterKey === undefined || input.masterKey === "" ? undefined : input.masterKey;
  const list = input.masterKeys === undefined || input.masterKeys === "" ? undefined : input.masterKeys;
  const allowWeak = input.allowWeak === true;

  if (single !== undefined && list !== undefined) {
    return fail(
      "conflicting_key_settings",
      "SWITCHYARD_MASTER_KEYS",
      "SWITCHYARD_MASTER_KEY and SWITCHYARD_MASTER_KEYS are both set; set only one (put the single key into the keyring as k1:<key>)",
    );
  }
  if (single !== undefined) {
    const key = decodeKey(single, SINGLE_MASTER_KEY_ID, "SWITCHYARD_MASTER_KEY", "SWITCHYARD_MASTER_KEY", allowWeak);
    return key.ok ? { ok: true, value: Keyring.fromKeys([key.value]) } : key;
  }
  if (list !== undefined) {
    return parseKeyList(list, allowWeak);
  }
  return fail(
    "missing_key",
    "SWITCHYARD_MASTER_KEY",
    "SWITCHYARD_MASTER_KEY is not set; set it to base64 of 32 random bytes (e.g. `openssl rand -base64 32`), or set SWITCHYARD_MASTER_KEYS",
  );
}

function parseKeyList(list: string, allowWeak: boolean): Result<Keyring, KeyringError> {
  const variable = "SWITCHYARD_MASTER_KEYS";
  const keys: SecretKey[] = [];
  const seen = new Set<string>();
  const entries = list.split(",");

  for (const [index, entry] of entries.entries()) {
    // Entries are named by position until their id is known to be valid;
    // anything unvalidated could be key material typed in the wrong place.
    const position = `entry ${index + 1}`;
    if (entry === "") {
      return fail("malformed_keyring", variable, `${variable} ${position} is empty; write id:base64,id:base64 with no empty entries`);
    }
    const colon = entry.indexOf(":");
    if (colon === -1) {
      return fail("malformed_keyring", variable, `${variable} ${position} has no colon; write each entry as id:base64`);
    }
    const id = entry.slice(0, colon);
    if (!isValidKeyId(id)) {
      return fail("malformed_keyring", variable, `${variable} ${position} has an invalid key id; ids are ${KEY_ID_RULE}`);
    }
    if (seen.has(id)) {
      return fail("duplicate_key_id", variable, `${variable} names key id ${id} more than once (again in ${position})`);
    }
    seen.add(id);
    const key = decodeKey(entry.slice(colon + 1), id, variable, `${variable} entry ${id}`, allowWeak);
    if (!key.ok) return key;
    keys.push(key.value);
  }
  return { ok: true, value: Keyring.fromKeys(keys) };
}

function decodeKey(
  text: string,
  id: string,
  variable: KeyVariable,
  subject: string,
  allowWeak: boolean,
): Result<SecretKey, KeyringError> {
  if (text === "") {
    return fail("malformed_key", variable, `${subject} has an empty key; it must be base64 of exactly ${KEY_LENGTH} bytes`);
  }
  const decoded = decodeStrictBase64(text, { canonical: true });
  if (!decoded.ok) {
    return fail("malformed_key", variable, `${subject} must be standard base64 of exactly ${KEY_LENGTH} bytes; ${BASE64_HINTS[decoded.error]}`);
  }
  const bytes = decoded.value;
  try {
    if (bytes.length !== KEY_LENGTH) {
      return fail(
        "wrong_key_length",
        variable,
        `${subject} must be base64 of exactly ${KEY_LENGTH} bytes; it decodes to ${bytes.length} bytes`,
      );
    }
    const weakness = weakKeyReason(bytes);
    if (weakness !== undefined && !allowWeak) {
      return fail("weak_key", variable, `${subject} is refused: ${weakness}; generate a fresh key (e.g. \`openssl rand -base64 32\`)`);
    }
    return { ok: true, value: SecretKey.fromBytes(id, bytes) };
  } finally {
    // SecretKey holds its own copy; drop this one.
    bytes.fill(0);
  }
}

function fail<T>(code: KeyringErrorCode, variable: KeyVariable, message: string): Result<T, KeyringError> {
  return { ok: false, error: { code, variable, message } };
}
