import { createHash, createHmac, generateKeyPairSync, createPrivateKey, createPublicKey, sign, verify, createCipheriv, createDecipheriv, randomBytes, hkdfSync, pbkdf2Sync } from "node:crypto";
import { afterAll, describe, expect, test } from "vitest";
import { createExecutor } from "./executor.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";

// Big enough for 50,000 UUIDs as a result.
const executor = createExecutor({ host: memoryHost(), resultMaxBytes: 4 * 1024 * 1024 });
afterAll(() => executor.dispose());

async function resultOf(src: string, payload: unknown = {}, appId = "app_crypto"): Promise<unknown> {
  const out = await executor.run(requestFor(compileForTest(src, { appId, limits: { cpuMs: 20_000, wallMs: 30_000, memoryMb: 128 } }), { kind: "manual", payload }));
  expect(out.error).toBeNull();
  return out.result;
}

const HEX = `const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
const unhex = (s) => new Uint8Array(s.match(/../g).map((h) => parseInt(h, 16)));
const enc = (s) => new TextEncoder().encode(s);`;

describe("crypto.subtle inside the sandbox", () => {
  test("SHA-1/256/384/512 digests and HMAC-SHA256 equal node:crypto's, and verify checks", async () => {
    const result = (await resultOf(`${HEX}
      export default async () => {
        const data = enc("the quick brown fox");
        const digests = {};
        for (const name of ["SHA-1", "SHA-256", "SHA-384", "SHA-512"]) digests[name] = hex(await crypto.subtle.digest(name, data));
        const key = await crypto.subtle.importKey("raw", enc("k3y"), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
        const mac = await crypto.subtle.sign("HMAC", key, data);
        const jwkKey = await crypto.subtle.importKey("jwk", { kty: "oct", k: "azN5", alg: "HS256" }, { name: "HMAC", hash: { name: "SHA-256" } }, true, ["sign"]);
        const jwkMac = hex(await crypto.subtle.sign({ name: "HMAC" }, jwkKey, data));
        const ok = await crypto.subtle.verify("HMAC", key, mac, data);
        const bad = await crypto.subtle.verify("HMAC", key, mac, enc("other"));
        let exported = null; try { await crypto.subtle.exportKey("raw", key); } catch (e) { exported = e.name; }
        return { digests, mac: hex(mac), jwkMac, ok, bad, exported, algorithm: key.algorithm, type: key.type, extractable: key.extractable, usages: key.usages };
      };`)) as Record<string, unknown>;
    const data = "the quick brown fox";
    expect(result.digests).toEqual({
      "SHA-1": createHash("sha1").update(data).digest("hex"),
      "SHA-256": createHash("sha256").update(data).digest("hex"),
      "SHA-384": createHash("sha384").update(data).digest("hex"),
      "SHA-512": createHash("sha512").update(data).digest("hex"),
    });
    const mac = createHmac("sha256", "k3y").update(data).digest("hex");
    expect(result).toMatchObject({ mac, jwkMac: mac, ok: true, bad: false, exported: "InvalidAccessError", type: "secret", extractable: false, usages: ["sign", "verify"] });
    expect(result.algorithm).toEqual({ name: "HMAC", length: 24, hash: { name: "SHA-256" } });
  });

  test("AES-GCM round-trips with node:crypto on the other side, both ways", async () => {
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    const fromNode = Buffer.concat([cipher.update("from node", "utf8"), cipher.final(), cipher.getAuthTag()]);
    const result = (await resultOf(
      `${HEX}
      export default async (event) => {
        const { key, iv, fromNode } = event.payload;
        const k = await crypto.subtle.importKey("raw", unhex(key), "AES-GCM", false, ["encrypt", "decrypt"]);
        const opened = new TextDecoder().decode(await crypto.subtle.decrypt({ name: "AES-GCM", iv: unhex(iv) }, k, unhex(fromNode)));
        const sealed = hex(await crypto.subtle.encrypt({ name: "AES-GCM", iv: unhex(iv), additionalData: enc("aad") }, k, enc("from the sandbox")));
        let tampered = null;
        try { const t = unhex(fromNode); t[0] ^= 1; await crypto.subtle.decrypt({ name: "AES-GCM", iv: unhex(iv) }, k, t); } catch (e) { tampered = e.name; }
        return { opened, sealed, tampered };
      };`,
      { key: key.toString("hex"), iv: iv.toString("hex"), fromNode: fromNode.toString("hex") },
    )) as { opened: string; sealed: string; tampered: string };
    expect(result.opened).toBe("from node");
    expect(result.tampered).toBe("OperationError");
    const sealed = Buffer.from(result.sealed, "hex");
    const decipher = createDecipheriv("aes-256-gcm", key, iv);
    decipher.setAAD(Buffer.from("aad"));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    expect(Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]).toString("utf8")).toBe("from the sandbox");
  });

  test("Ed25519 and ECDSA P-256 signatures verify across the boundary, both ways", async () => {
    const ed = generateKeyPairSync("ed25519");
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const message = Buffer.from("signed by node");
    const result = (await resultOf(
      `${HEX}
      export default async (event) => {
        const p = event.payload;
        const edPub = await crypto.subtle.importKey("jwk", p.edPub, { name: "Ed25519" }, true, ["verify"]);
        const ecPub = await crypto.subtle.importKey("jwk", p.ecPub, { name: "ECDSA", namedCurve: "P-256" }, true, ["verify"]);
        const nodeSigned = [
          await crypto.subtle.verify("Ed25519", edPub, unhex(p.edSig), enc("signed by node")),
          await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, ecPub, unhex(p.ecSig), enc("signed by node")),
        ];
        const edPair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
        const ecPair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
        const data = enc("signed in the sandbox");
        return {
          nodeSigned,
          ed: { pub: await crypto.subtle.exportKey("jwk", edPair.publicKey), sig: hex(await crypto.subtle.sign("Ed25519", edPair.privateKey, data)) },
          ec: { pub: await crypto.subtle.exportKey("jwk", ecPair.publicKey), sig: hex(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, ecPair.privateKey, data)) },
          privateExportable: edPair.privateKey.extractable,
        };
      };`,
      {
        edPub: ed.publicKey.export({ format: "jwk" }),
        edSig: sign(null, message, ed.privateKey).toString("hex"),
        ecPub: ec.publicKey.export({ format: "jwk" }),
        ecSig: sign("sha256", message, { key: ec.privateKey, dsaEncoding: "ieee-p1363" }).toString("hex"),
      },
    )) as { nodeSigned: boolean[]; ed: { pub: object; sig: string }; ec: { pub: object; sig: string }; privateExportable: boolean };
    expect(result.nodeSigned).toEqual([true, true]);
    expect(result.privateExportable).toBe(false);
    const data = Buffer.from("signed in the sandbox");
    expect(verify(null, data, createPublicKey({ key: result.ed.pub as never, format: "jwk" }), Buffer.from(result.ed.sig, "hex"))).toBe(true);
    expect(verify("sha256", data, { key: createPublicKey({ key: result.ec.pub as never, format: "jwk" }), dsaEncoding: "ieee-p1363" }, Buffer.from(result.ec.sig, "hex"))).toBe(true);
    expect(createPrivateKey).toBeDefined();
  });

  test("HKDF and PBKDF2 deriveBits equal node:crypto's", async () => {
    const result = (await resultOf(`${HEX}
      export default async () => {
        const hkdfKey = await crypto.subtle.importKey("raw", enc("input key"), "HKDF", false, ["deriveBits"]);
        const hkdf = hex(await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: enc("salt"), info: enc("info") }, hkdfKey, 256));
        const pbKey = await crypto.subtle.importKey("raw", enc("password"), "PBKDF2", false, ["deriveBits"]);
        const pbkdf2 = hex(await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: enc("salt"), iterations: 1000 }, pbKey, 256));
        return { hkdf, pbkdf2 };
      };`)) as { hkdf: string; pbkdf2: string };
    expect(result.hkdf).toBe(Buffer.from(hkdfSync("sha256", "input key", "salt", "info", 32)).toString("hex"));
    expect(result.pbkdf2).toBe(pbkdf2Sync("password", "salt", 1000, 32, "sha256").toString("hex"));
  });
});

describe("crypto.getRandomValues and crypto.randomUUID", () => {
  test("100,000 randomUUID draws across two apps are all version 4 and never repeat", async () => {
    const src = `export default () => { const out = []; for (let i = 0; i < 50000; i++) out.push(crypto.randomUUID()); return out; };`;
    const [a, b] = (await Promise.all([resultOf(src, {}, "app_uuid_a"), resultOf(src, {}, "app_uuid_b")])) as [string[], string[]];
    const all = [...a, ...b];
    expect(all).toHaveLength(100_000);
    for (const uuid of all) expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(all).size).toBe(100_000);
  }, 60_000);

  test("getRandomValues fills integer arrays and refuses floats and more than 65,536 bytes", async () => {
    expect(
      await resultOf(`export default () => {
        const a = crypto.getRandomValues(new Uint32Array(16));
        const refused = (f) => { try { f(); return null; } catch (e) { return e.name; } };
        return { filled: a.some((x) => x !== 0), same: crypto.getRandomValues(a) === a,
          float: refused(() => crypto.getRandomValues(new Float64Array(2))), big: refused(() => crypto.getRandomValues(new Uint8Array(65537))),
          max: crypto.getRandomValues(new Uint8Array(65536)).length };
      };`),
    ).toEqual({ filled: true, same: true, float: "TypeMismatchError", big: "QuotaExceededError", max: 65536 });
  });
});
