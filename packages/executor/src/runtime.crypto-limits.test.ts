import { generateKeyPairSync, randomBytes } from "node:crypto";
import { afterAll, describe, expect, test } from "vitest";
import { createExecutor } from "./executor.ts";
import { SUBTLE_LIMITS } from "./subtle-limits.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";

const executor = createExecutor({ host: memoryHost() });
afterAll(() => executor.dispose());

async function resultOf(src: string, payload: unknown = {}, memoryMb = 128): Promise<unknown> {
  const out = await executor.run(requestFor(compileForTest(src, { appId: "app_subtle_limits", limits: { cpuMs: 10_000, wallMs: 10_000, memoryMb } }), { kind: "manual", payload }));
  expect(out.error).toBeNull();
  return out.result;
}

// Each attempt answers [name, message] of its rejection, or "ok".
const ATTEMPT = `const attempt = async (f) => { try { await f(); return "ok"; } catch (e) { return [e.name, e.message]; } };
const enc = (s) => new TextEncoder().encode(s);`;

describe("crypto.subtle's limits on host work, inside the sandbox", () => {
  test("PBKDF2 past 1,000,000 iterations or 1,024 bits is refused by name, before any work", async () => {
    const t0 = performance.now();
    const result = await resultOf(`${ATTEMPT}
      export default async () => {
        const key = await crypto.subtle.importKey("raw", enc("password"), "PBKDF2", false, ["deriveBits", "deriveKey"]);
        const pbkdf2 = (iterations) => ({ name: "PBKDF2", hash: "SHA-256", salt: enc("salt"), iterations });
        return [
          await attempt(() => crypto.subtle.deriveBits(pbkdf2(1_000_001), key, 256)),
          await attempt(() => crypto.subtle.deriveBits(pbkdf2(4_000_000_000), key, 256)),
          await attempt(() => crypto.subtle.deriveBits(pbkdf2(1000), key, 2048)),
          await attempt(() => crypto.subtle.deriveKey(pbkdf2(1000), key, { name: "HMAC", hash: "SHA-512", length: 4096 }, false, ["sign"])),
          await attempt(() => crypto.subtle.deriveBits(pbkdf2(100_000), key, 256)),
          await attempt(() => crypto.subtle.deriveKey(pbkdf2(1000), key, { name: "HMAC", hash: "SHA-512" }, false, ["sign"])),
          // As node:crypto converts them (Web IDL unsigned long): strings, exponents, negatives.
          await attempt(() => crypto.subtle.deriveBits(pbkdf2("1e9"), key, 256)),
          await attempt(() => crypto.subtle.deriveBits(pbkdf2(-1), key, 256)),
          await attempt(() => crypto.subtle.deriveBits(pbkdf2(1000), key, "2048")),
          await attempt(() => crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256", length: "16384" }, false, ["sign"])),
        ];
      };`);
    const iterations = ["NotSupportedError", `crypto.subtle: PBKDF2 is limited to ${SUBTLE_LIMITS.maxPbkdf2Iterations} iterations`];
    const bits = ["NotSupportedError", `crypto.subtle: PBKDF2 derives at most ${SUBTLE_LIMITS.maxPbkdf2Bits} bits`];
    const hmac = ["NotSupportedError", `crypto.subtle: HMAC keys are limited to ${SUBTLE_LIMITS.maxHmacKeyBits} bits`];
    expect(result).toEqual([iterations, iterations, bits, bits, "ok", "ok", iterations, iterations, bits, hmac]);
    // Four billion iterations would take the host an hour.
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  test("RSA keys past 4,096 bits generated, 8,192 imported or a public exponent past 32 bits, and huge HMAC keys are refused", async () => {
    // Public keys need no primes: a big odd modulus imports as well as a real one.
    const modulus = (bytes: number) => {
      const n = randomBytes(bytes);
      n[0] = (n[0] as number) | 0x80;
      n[bytes - 1] = (n[bytes - 1] as number) | 1;
      return n.toString("base64url");
    };
    const real = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "jwk" });
    const result = await resultOf(
      `${ATTEMPT}
      export default async (event) => {
        const rsa = (modulusLength, publicExponent = new Uint8Array([1, 0, 1])) => ({ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256", modulusLength, publicExponent });
        const importPublic = (jwk) => crypto.subtle.importKey("jwk", jwk, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, true, ["verify"]);
        return [
          await attempt(() => crypto.subtle.generateKey(rsa(8192), false, ["sign", "verify"])),
          await attempt(() => crypto.subtle.generateKey(rsa(2048, new Uint8Array([1, 0, 0, 0, 0, 1])), false, ["sign", "verify"])),
          await attempt(() => importPublic({ kty: "RSA", e: "AQAB", n: event.payload.huge })),
          await attempt(() => importPublic({ kty: "RSA", e: "AQAAAAAAAQ", n: event.payload.real.n })),
          await attempt(() => importPublic(event.payload.real)),
          await attempt(() => crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256", length: 2 ** 31 }, false, ["sign"])),
        ];
      };`,
      { huge: modulus(1040), real },
    );
    expect(result).toEqual([
      ["NotSupportedError", `crypto.subtle: RSA keys generated are limited to ${SUBTLE_LIMITS.maxRsaGenerateBits} bits`],
      ["NotSupportedError", "crypto.subtle: an RSA public exponent is limited to 32 bits"],
      ["NotSupportedError", `crypto.subtle: RSA keys are limited to ${SUBTLE_LIMITS.maxRsaBits} bits`],
      ["NotSupportedError", "crypto.subtle: an RSA public exponent is limited to 32 bits"],
      "ok",
      ["NotSupportedError", `crypto.subtle: HMAC keys are limited to ${SUBTLE_LIMITS.maxHmacKeyBits} bits`],
    ]);
  });

  test("a call carrying more than 8 MiB of data or more than 4 keys is refused with QuotaExceededError", async () => {
    const result = await resultOf(
      `${ATTEMPT}
      export default async () => {
        const mib = 1024 * 1024;
        const key = await crypto.subtle.importKey("raw", new Uint8Array(32), "AES-GCM", false, ["encrypt"]);
        const keys = { name: "AES-GCM", iv: new Uint8Array(12), a: key, b: key, c: key, d: key };
        return [
          await attempt(() => crypto.subtle.digest("SHA-256", new Uint8Array(8 * mib))),
          await attempt(() => crypto.subtle.digest("SHA-256", new Uint8Array(8 * mib + 1))),
          await attempt(() => crypto.subtle.encrypt({ name: "AES-GCM", iv: new Uint8Array(4 * mib) }, key, new Uint8Array(4 * mib + 1))),
          await attempt(() => crypto.subtle.encrypt(keys, key, new Uint8Array(1))),
        ];
      };`,
      {},
      // Room for 8 MiB as base64 and the call's JSON, twice over.
      256,
    );
    const data = ["QuotaExceededError", `crypto.subtle: a call may carry at most ${SUBTLE_LIMITS.maxDataBytes} bytes of data`];
    expect(result).toEqual(["ok", data, data, ["QuotaExceededError", `crypto.subtle: a call may carry at most ${SUBTLE_LIMITS.maxKeysPerCall} keys`]]);
  });

  test("hundreds of calls at once all complete, a few at a time; thousands past the queue are refused by name", async () => {
    const result = (await resultOf(`${ATTEMPT}
      export default async () => {
        const key = await crypto.subtle.importKey("raw", enc("k3y"), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
        const sign = (i) => attempt(() => crypto.subtle.sign("HMAC", key, enc(String(i))));
        const some = await Promise.all(Array.from({ length: 500 }, (_, i) => sign(i)));
        const flood = await Promise.all(Array.from({ length: 3000 }, (_, i) => sign(i)));
        return { some: [...new Set(some.map(String))], floodOk: flood.filter((r) => r === "ok").length, refused: [...new Set(flood.filter((r) => r !== "ok").map(String))] };
      };`)) as { some: string[]; floodOk: number; refused: string[] };
    expect(result.some).toEqual(["ok"]);
    // At least a full queue's worth ran (more, when some finished while the flood still arrived).
    expect(result.floodOk).toBeGreaterThanOrEqual(SUBTLE_LIMITS.maxInFlightPerRun + SUBTLE_LIMITS.maxWaitingPerRun);
    expect(result.floodOk).toBeLessThan(3000);
    expect(result.refused).toEqual([
      `QuotaExceededError,crypto.subtle: a run has at most ${SUBTLE_LIMITS.maxInFlightPerRun} operations running and ${SUBTLE_LIMITS.maxWaitingPerRun} (or ${SUBTLE_LIMITS.maxWaitingCharsPerRun} characters of arguments) waiting; await some before starting more`,
    ]);
  });
});
