import { randomFillSync } from "node:crypto";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

// Random bytes are drawn from the CSPRNG a page at a time and each used once:
// one call per id cost more than the rest of making it, on hot paths (every
// event, run and accepted email gets ids).
const POOL = Buffer.alloc(4095);
let poolOffset = POOL.length;

function random15(): Buffer {
  if (poolOffset + 15 > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const bytes = POOL.subarray(poolOffset, poolOffset + 15);
  poolOffset += 15;
  return bytes;
}

/**
 * A prefixed id with 120 random bits (`app_3k9...`): unguessable, so ids in
 * public URLs (trigger ids) can be handed out without enumeration risk.
 */
export function newId(prefix: string): string {
  const bytes = random15();
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return `${prefix}_${out}`;
}
