/**
 * Entropy for the sandbox's `crypto.getRandomValues` and `crypto.randomUUID`,
 * from node:crypto's CSPRNG, as a "binary string" (one character per byte):
 * a string crosses into the isolate without a structured copy.
 */
import { randomFillSync } from "node:crypto";

/** Most bytes one call hands out (the runtime asks for 4 KiB, or up to getRandomValues' 64 KiB). */
const MAX_BYTES = 65_536;

/** `size` random bytes as latin1 text; "" when `size` is not a count the runtime would ask for. */
export function randomBytesText(size: unknown): string {
  const n = Number(size);
  if (!Number.isInteger(n) || n < 1 || n > MAX_BYTES) return "";
  return randomFillSync(Buffer.allocUnsafe(n)).toString("latin1");
}
