import { createHmac } from "node:crypto";
import type { SignAlgorithm } from "./types.ts";

/**
 * What `secrets.sign` answers: the HMAC of `data` keyed with a secret's value
 * (a string as it is, any other value as its JSON). One definition for the
 * Host and for an executor thread signing with a value its run holds, so a
 * signature never depends on which of them computed it.
 */
export function hmacWithSecretValue(value: unknown, data: Uint8Array, algorithm: SignAlgorithm, encoding: "hex" | "base64"): string {
  const key = typeof value === "string" ? value : JSON.stringify(value);
  return createHmac(algorithm === "HMAC-SHA512" ? "sha512" : "sha256", key).update(data).digest(encoding);
}
