import { createHmac, randomBytes } from "node:crypto";
import { afterAll, describe, expect, test } from "vitest";
import { createExecutor } from "./executor.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";

const executor = createExecutor({ host: memoryHost() });
afterAll(() => executor.dispose());

// Everything a script can reach from a non-extractable key, by every way we
// know: its properties, its prototypes, JSON.stringify with a replacer,
// structuredClone, and builtins the runtime calls replaced by the script's
// own (Object.prototype.toJSON, JSON.stringify, WeakMap.prototype.set/get,
// getters for the wire's "$k"/"$b" names). Collected as JSON text with the
// JSON.stringify captured before any of it.
const PROBE = `
export default async (event) => {
  const stringify = JSON.stringify, parse = JSON.parse, getProto = Object.getPrototypeOf;
  const unhex = (s) => new Uint8Array(s.match(/../g).map((h) => parseInt(h, 16)));
  const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
  const seen = [];
  const keep = (value) => { try { seen.push(stringify(value, (k, v) => (v instanceof ArrayBuffer || ArrayBuffer.isView(v) ? hex(v.buffer ?? v) : v))); } catch (e) { seen.push(String(e)); } };
  const key = await crypto.subtle.importKey("raw", unhex(event.payload.secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const data = new TextEncoder().encode("data");

  keep(Reflect.ownKeys(key).map(String));
  keep(Object.getOwnPropertySymbols(key).map(String));
  for (let proto = getProto(key); proto; proto = getProto(proto)) {
    for (const name of Reflect.ownKeys(proto)) { try { keep({ [String(name)]: Reflect.get(proto, name, key) }); } catch (e) { keep(String(e)); } }
  }
  keep(JSON.stringify(key, (k, v) => { keep(Object.getOwnPropertyNames(Object(v))); return v; }));
  try { keep(structuredClone(key)); } catch (e) { keep(e.name); }

  // The runtime's own calls, each answered by the script first.
  const captured = [];
  Object.defineProperty(Object.prototype, "toJSON", { configurable: true, get() { captured.push(this); return undefined; } });
  await crypto.subtle.sign("HMAC", key, data);
  delete Object.prototype.toJSON;
  JSON.stringify = (value, ...rest) => { captured.push(value); return stringify(value, ...rest); };
  await crypto.subtle.sign("HMAC", key, data);
  JSON.stringify = stringify;
  const wmSet = WeakMap.prototype.set, wmGet = WeakMap.prototype.get;
  WeakMap.prototype.set = function (k, v) { captured.push(v); return wmSet.call(this, k, v); };
  WeakMap.prototype.get = function (k) { const v = wmGet.call(this, k); captured.push(v); return v; };
  const another = await crypto.subtle.importKey("raw", unhex(event.payload.secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  await crypto.subtle.sign("HMAC", another, data);
  for (const name of ["$k", "$b", "$u"]) Object.defineProperty(Object.prototype, name, { configurable: true, get() { captured.push(this); return undefined; } });
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
  await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, data);
  for (const name of ["$k", "$b", "$u"]) delete Object.prototype[name];
  WeakMap.prototype.set = wmSet;
  WeakMap.prototype.get = wmGet;
  for (const value of captured) keep(value);

  // A record reached that way, altered, opens nothing.
  const records = captured.filter((v) => v && typeof v === "object" && typeof v.sealed === "string");
  const attempts = [];
  for (const record of records) {
    record.extractable = true;
    record.usages = ["sign", "verify"];
  }
  try { await crypto.subtle.exportKey("raw", key); attempts.push("exported"); } catch (e) { attempts.push(e.name); }
  try { await crypto.subtle.exportKey("jwk", pair.privateKey); attempts.push("exported"); } catch (e) { attempts.push(e.name); }
  for (const record of records) record.sealed = record.sealed.slice(0, -8) + "AAAAAAA=";
  try { await crypto.subtle.sign("HMAC", key, data); attempts.push("signed"); } catch (e) { attempts.push(e.name); }

  return { dump: seen.join("\\n"), records: records.length, attempts, mac: hex(await crypto.subtle.sign("HMAC", await crypto.subtle.importKey("raw", unhex(event.payload.secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]), data)) };
};`;

describe("a non-extractable CryptoKey's material", () => {
  test("is out of a script's reach by any property, prototype, JSON.stringify, structuredClone or replaced builtin", async () => {
    const secret = randomBytes(32);
    const out = await executor.run(requestFor(compileForTest(PROBE, { appId: "app_keys" }), { kind: "manual", payload: { secret: secret.toString("hex") } }));
    expect(out.error).toBeNull();
    const { dump, records, attempts, mac } = out.result as { dump: string; records: number; attempts: string[]; mac: string };
    for (const form of [secret.toString("hex"), secret.toString("base64"), secret.toString("base64url"), secret.toString("base64").replace(/=+$/, "")]) {
      expect(dump).not.toContain(form);
    }
    expect(dump).not.toMatch(/"(material|k|d|p|q|dp|dq|qi)":/);
    // The probes did reach the runtime's records: what they found is all there is to find.
    expect(records).toBeGreaterThan(0);
    expect(attempts).toEqual(["InvalidAccessError", "InvalidAccessError", "TypeError"]);
    expect(mac).toBe(createHmac("sha256", secret).update("data").digest("hex"));
  });

  test("a sealed record carried to another app opens nothing there", async () => {
    const grab = `export default async () => {
      const set = WeakMap.prototype.set, records = [];
      WeakMap.prototype.set = function (k, v) { records.push(v); return set.call(this, k, v); };
      await crypto.subtle.importKey("raw", new Uint8Array(32).fill(7), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      WeakMap.prototype.set = set;
      return records.find((r) => r && typeof r.sealed === "string");
    };`;
    const use = `export default async (event) => {
      const key = await crypto.subtle.importKey("raw", new Uint8Array(32).fill(1), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      const get = WeakMap.prototype.get;
      WeakMap.prototype.get = function (k) { return k === key ? event.payload.record : get.call(this, k); };
      try { return Array.from(new Uint8Array(await crypto.subtle.sign("HMAC", key, new Uint8Array(1)))).slice(0, 4); } catch (e) { return e.name; }
    };`;
    const record = (await executor.run(requestFor(compileForTest(grab, { appId: "app_keys_a" })))).result as { sealed: string };
    expect(typeof record.sealed).toBe("string");
    const run = async (appId: string) => (await executor.run(requestFor(compileForTest(use, { appId }), { kind: "manual", payload: { record } }))).result;
    // In its own app the carried record opens (the probe works); in another it does not.
    expect(await run("app_keys_a")).toEqual([...createHmac("sha256", Buffer.alloc(32, 7)).update(Buffer.alloc(1)).digest().subarray(0, 4)]);
    expect(await run("app_keys_b")).toBe("TypeError");
  });
});
