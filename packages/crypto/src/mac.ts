import { createHmac } from "node:crypto";
import { keyMaterial, type SecretKey } from "./secret-key.ts";

/**
 * HMAC-SHA256 of `data` under `key` (32 bytes). The key stays in its
 * KeyObject: no copy of its bytes reaches JavaScript memory.
 *
 * Use a key for one purpose only: a data key that MACs (the audit chain's)
 * never seals anything, so one key never serves two algorithms.
 *
 * @example
 * const tag = macSha256(key, "switchyard/audit-chain/v1\n[...]"); // 32 bytes
 */
export function macSha256(key: SecretKey, data: string | Uint8Array): Buffer {
  const hmac = createHmac("sha256", keyMaterial(key));
  hmac.update(data);
  return hmac.digest();
}
