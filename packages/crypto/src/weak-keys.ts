/**
 * Keys that appear in documentation (ours and common tutorials). Anyone can
 * read them, so a deployment that copied one has no secrecy at all.
 * `AAECAwQF...` (bytes 0..31) is the example in our README.
 */
export const DOCUMENTED_EXAMPLE_KEYS: readonly string[] = Object.freeze([
  // bytes 0x00..0x1f: the example in packages/crypto/README.md
  "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
  // bytes 0x01..0x20
  "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
  // ASCII "0123456789abcdef0123456789abcdef"
  "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
  // ASCII "12345678901234567890123456789012"
  "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=",
]);

const DOCUMENTED_BYTES = DOCUMENTED_EXAMPLE_KEYS.map((key) => Buffer.from(key, "base64"));

/** Why a key is weak, in words that reveal nothing about its bytes beyond that. */
export function weakKeyReason(bytes: Uint8Array): string | undefined {
  // Compared as bytes, so an unpadded spelling of an example key is caught too.
  if (DOCUMENTED_BYTES.some((known) => known.equals(bytes))) {
    return "it is an example key published in documentation";
  }
  if (bytes.length > 0 && bytes.every((byte) => byte === bytes[0])) {
    return "every byte is the same (a placeholder, not a key)";
  }
  return undefined;
}
