import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { CryptoError } from "./errors.ts";
import { isValidWrappingKeyId, MAX_KEY_ID_LENGTH } from "./key-id.ts";
import { keyMaterial, type SecretKey } from "./secret-key.ts";

// sealed = version (1) | key id length (1) | key id (utf8) | nonce (12) | ciphertext | tag (16)
const FORMAT_VERSION = 0x01;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const ALGORITHM = "aes-256-gcm";

/** The parts of a sealed blob; `header` is authenticated along with the caller's associated data. */
export interface SealedParts {
  header: Buffer;
  keyId: string;
  nonce: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

/**
 * Encrypts `plaintext` with AES-256-GCM under `key`, bound to `aad`.
 *
 * `aad` names what the plaintext belongs to (e.g. `secret:app/42:STRIPE_KEY`):
 * a blob opened with any other `aad` fails, so a ciphertext copied to another
 * row does not decrypt there. It is required and must not be empty.
 *
 * @example
 * const sealed = seal(key, Buffer.from("hunter2"), "secret:app/42:DB_PASSWORD");
 * open(key, sealed, "secret:app/42:DB_PASSWORD"); // Buffer "hunter2"
 */
export function seal(key: SecretKey, plaintext: Uint8Array, aad: string | Uint8Array): Buffer {
  const associated = requireAad(aad);
  const header = encodeHeader(key.id);
  // A fresh random nonce every call: GCM loses both confidentiality and
  // integrity if a nonce repeats under one key. With 96 random bits the
  // chance of a repeat stays below 2^-32 up to 2^32 seals per key, the limit
  // NIST SP 800-38D sets for random nonces; data keys per scope stay far below.
  const nonce = randomBytes(NONCE_LENGTH);
  const cipher = createCipheriv(ALGORITHM, keyMaterial(key), nonce, { authTagLength: TAG_LENGTH });
  // The header is authenticated too, so the format version and key id cannot
  // be rewritten without the tag failing.
  cipher.setAAD(Buffer.concat([header, associated]));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, nonce, ciphertext, cipher.getAuthTag()]);
}

/**
 * Decrypts a blob made by {@link seal}. Throws `CryptoError` with code
 * `malformed_ciphertext` (not our format), `unknown_key_id` (sealed under a
 * different key), `aad_required`, or `decrypt_failed` (wrong key, wrong `aad`,
 * or any tampering).
 */
export function open(key: SecretKey, sealed: Uint8Array, aad: string | Uint8Array): Buffer {
  const associated = requireAad(aad);
  const parts = parseSealed(sealed);
  if (parts.keyId !== key.id) {
    throw new CryptoError("unknown_key_id", `ciphertext was sealed with key ${parts.keyId}, not ${key.id}`);
  }
  try {
    // authTagLength pins the tag to 16 bytes: without it Node accepts tags as
    // short as 4 bytes, which are far easier to forge.
    const decipher = createDecipheriv(ALGORITHM, keyMaterial(key), parts.nonce, { authTagLength: TAG_LENGTH });
    decipher.setAAD(Buffer.concat([parts.header, associated]));
    decipher.setAuthTag(parts.tag);
    return Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]);
  } catch (cause) {
    throw new CryptoError(
      "decrypt_failed",
      `ciphertext under key ${key.id} did not authenticate (wrong key, wrong associated data, or altered)`,
      { cause },
    );
  }
}

/** The id of the key a blob was sealed with, read from its header. */
export function sealedKeyId(sealed: Uint8Array): string {
  return parseSealed(sealed).keyId;
}

/**
 * The header of a sealed blob (format version, key id). Exported so that key
 * providers sealing inside an HSM or a KMS write the same self-describing
 * layout as {@link seal}: `header | nonce (12) | ciphertext | tag (16)`, with
 * `header + aad` as the AES-GCM associated data.
 */
export function encodeHeader(keyId: string): Buffer {
  const id = Buffer.from(keyId, "utf8");
  return Buffer.concat([Buffer.from([FORMAT_VERSION, id.length]), id]);
}

/** Splits a blob in {@link seal}'s layout; throws `malformed_ciphertext` when it is not one. */
export function parseSealed(sealed: Uint8Array): SealedParts {
  if (!(sealed instanceof Uint8Array)) {
    throw malformed("ciphertext must be bytes");
  }
  const blob = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (blob.length < 2) {
    throw malformed(`ciphertext is ${blob.length} bytes, too short for a header`);
  }
  if (blob[0] !== FORMAT_VERSION) {
    throw malformed(`ciphertext has format version ${blob[0]}; only ${FORMAT_VERSION} is known`);
  }
  const idLength = blob[1] ?? 0;
  if (idLength === 0 || idLength > MAX_KEY_ID_LENGTH) {
    throw malformed(`ciphertext names a key id of ${idLength} bytes`);
  }
  const headerLength = 2 + idLength;
  if (blob.length < headerLength + NONCE_LENGTH + TAG_LENGTH) {
    throw malformed(`ciphertext is ${blob.length} bytes, too short for its header, nonce and tag`);
  }
  const keyId = blob.toString("latin1", 2, headerLength);
  // Valid ids are ASCII, so latin1 and utf8 agree; anything else is not ours.
  if (!isValidWrappingKeyId(keyId)) {
    throw malformed("ciphertext names an invalid key id");
  }
  return {
    header: blob.subarray(0, headerLength),
    keyId,
    nonce: blob.subarray(headerLength, headerLength + NONCE_LENGTH),
    ciphertext: blob.subarray(headerLength + NONCE_LENGTH, blob.length - TAG_LENGTH),
    tag: blob.subarray(blob.length - TAG_LENGTH),
  };
}

function requireAad(aad: string | Uint8Array): Buffer {
  const bytes =
    typeof aad === "string"
      ? Buffer.from(aad, "utf8")
      : aad instanceof Uint8Array
        ? Buffer.from(aad.buffer, aad.byteOffset, aad.byteLength)
        : undefined;
  if (bytes === undefined || bytes.length === 0) {
    throw new CryptoError(
      "aad_required",
      "associated data is required and must not be empty: name what the plaintext belongs to",
    );
  }
  return bytes;
}

function malformed(message: string): CryptoError {
  return new CryptoError("malformed_ciphertext", message);
}
