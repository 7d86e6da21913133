import { eq, sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { outbox, resultRows } from "@switchyard/db";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor } from "./support/manager.ts";

/*
 * Arbitrary JSON thrown at every place a caller's JSON is stored: ordinary
 * values (fc.jsonValue over all of Unicode) with U+0000, lone surrogates,
 * nesting from 95 to 10,000 levels and numbers at and past the double range
 * (`1e400` only exists as raw text) injected. The property: never a 5xx; a
 * 2xx stored exactly what JSON.parse reads from the text; a 4xx stored
 * nothing and left what was there before untouched.
 */

const NUM_RUNS = 60;

/** Raw JSON texts that break naive storage. */
const poison = fc.constantFrom(
  '"a\\u0000b"', '"\\u0000"', '"x\\ud800"', '"\\udc00y"', '"\\ud83d\\ude00 pair"',
  "1e308", "-1e308", "1.7976931348623157e308", "5e-324", "1e400", "-1e400", "123456789012345678901234567890",
  '{"k\\u0000ey":1}', '{"\\udfff":1}',
);
/** `depth` levels of arrays or objects around a leaf, as text (JSON.stringify overflows near 4,000). */
const deep = fc.tuple(fc.oneof(fc.integer({ min: 95, max: 105 }), fc.integer({ min: 106, max: 10_000 }), fc.constant(10_000)), fc.boolean()).map(([depth, asObject]) =>
  asObject ? `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}` : `${"[".repeat(depth)}1${"]".repeat(depth)}`,
);
const plain = fc.jsonValue({ stringUnit: "binary", maxDepth: 4 }).map((v) => JSON.stringify(v));
const leaf = fc.oneof({ arbitrary: plain, weight: 3 }, { arbitrary: poison, weight: 2 }, { arbitrary: deep, weight: 1 });
/** A JSON text: a leaf alone, or beside ordinary JSON in an object or an array. */
const jsonText = fc.oneof(
  leaf,
  fc.tuple(plain, fc.string({ unit: "binary" }), leaf).map(([a, key, b]) => `{"plain":${a},${JSON.stringify(`k${key}`)}:${b}}`),
  fc.tuple(plain, leaf).map(([a, b]) => `[${a},${b}]`),
);

/** Structural equality without recursion (the values may be 10,000 deep). */
function sameJson(a: unknown, b: unknown): boolean {
  const pairs: [unknown, unknown][] = [[a, b]];
  while (pairs.length > 0) {
    const [x, y] = pairs.pop()!;
    if (x === y || (typeof x === "number" && typeof y === "number" && x === y)) continue;
    if (x === null || y === null || typeof x !== "object" || typeof y !== "object" || Array.isArray(x) !== Array.isArray(y)) return false;
    const xk = Object.keys(x);
    const yk = Object.keys(y);
    if (xk.length !== yk.length) return false;
    for (const k of xk) {
      if (!Object.hasOwn(y, k)) return false;
      pairs.push([(x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k]]);
    }
  }
  return true;
}

describeEachDriver("arbitrary JSON at every place it is stored", (ctx) => {
  let built: Awaited<ReturnType<typeof managerFor>>;
  let admin: ReturnType<typeof client>;
  let appId: string;
  let scriptId: string;
  let hookId: string;

  beforeAll(async () => {
    // No worker: events stay in the outbox, where their stored payload is read back.
    built = await managerFor(ctx.database);
    admin = client(built.app, built.adminToken!);
    appId = (await admin.post("/api/v1/admin/apps", { name: "fuzz" })).json.id;
    scriptId = (await admin.post(`/api/v1/admin/apps/${appId}/scripts`, { name: "s", source: "export default () => null" })).json.id;
    hookId = (await admin.post(`/api/v1/admin/apps/${appId}/triggers`, { kind: "http", name: "hook", script_id: scriptId, config: {} })).json.id;
    expect((await admin.post(`/api/v1/admin/apps/${appId}/secrets`, { name: "FUZZ", value: "before" })).status).toBe(201);
    expect((await admin.post(`/api/v1/admin/apps/${appId}/secrets`, { name: "IMP", value: "before" })).status).toBe(201);
  });
  afterAll(async () => built?.services.stop());

  const outboxCount = async () =>
    resultRows<{ n: number }>(await ctx.database.db.execute(sql`select count(*)::int as n from outbox where app_id = ${appId}`))[0]!.n;
  const storedEvent = async (eventId: string) => (await ctx.database.db.select().from(outbox).where(eq(outbox.id, eventId)))[0]?.event as Record<string, any>;
  const reveal = async (name: string) => (await admin.post(`/api/v1/admin/apps/${appId}/secrets/${name}/reveal`)).json.value as unknown;

  /** Asserts the property for one request whose stored value is read by `read` after a 2xx. */
  async function check(status: number, text: string, stored: () => Promise<unknown>, unchanged: () => Promise<void>) {
    expect(status, text.slice(0, 200)).toBeLessThan(500);
    if (status < 300) expect(sameJson(await stored(), JSON.parse(text)), text.slice(0, 200)).toBe(true);
    else await unchanged();
  }

  it("invoke: a payload is stored exactly or refused with 4xx, never 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(jsonText, async (text) => {
        const before = await outboxCount();
        const res = await admin.post(`/api/v1/admin/apps/${appId}/scripts/${scriptId}/invoke`, `{"payload":${text}}`);
        await check(res.status, text, async () => (await storedEvent(res.json.event_id)).payload, async () => expect(await outboxCount()).toBe(before));
      }),
      { numRuns: NUM_RUNS },
    );
  }, 60_000);

  it("hooks: a JSON body is stored exactly or refused with 4xx, never 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(jsonText, async (text) => {
        const before = await outboxCount();
        const res = await client(built.app, null).post(`/api/v1/hooks/${hookId}`, text);
        await check(res.status, text, async () => (await storedEvent(res.json.event_id)).http.body, async () => expect(await outboxCount()).toBe(before));
      }),
      { numRuns: NUM_RUNS },
    );
  }, 60_000);

  it("secret set: a value is sealed exactly or refused with 4xx, leaving the old value", async () => {
    let current: unknown = "before";
    await fc.assert(
      fc.asyncProperty(jsonText, async (text) => {
        const res = await admin.post(`/api/v1/admin/apps/${appId}/secrets`, `{"name":"FUZZ","value":${text}}`);
        await check(res.status, text, () => reveal("FUZZ"), async () => expect(sameJson(await reveal("FUZZ"), current)).toBe(true));
        if (res.status < 300) current = JSON.parse(text);
      }),
      { numRuns: NUM_RUNS },
    );
  }, 60_000);

  it("secret import: a dotenv value is sealed exactly or refused with 4xx, leaving the old value", async () => {
    const value = fc.oneof(
      fc.string({ unit: "binary", minLength: 1 }),
      fc.tuple(fc.string({ unit: "binary" }), fc.constantFrom("\u0000", "\uD800", "\uDC00", "\uD83D\uDE00"), fc.string({ unit: "binary" })).map((parts) => parts.join("")),
    );
    let current: unknown = "before";
    await fc.assert(
      fc.asyncProperty(value, async (raw) => {
        const quoted = raw.replace(/[\\"\n\r\t]/g, (ch) => ({ "\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t" })[ch]!);
        const res = await admin.post(`/api/v1/admin/apps/${appId}/secret-imports`, `IMP="${quoted}"\n`, { "content-type": "text/plain" });
        expect(res.status, JSON.stringify(raw)).toBeLessThan(500);
        const now = await reveal("IMP");
        // A body travels as UTF-8, which has no lone surrogates: the transport, not the server, makes them U+FFFD.
        if (res.status < 300) expect(now).toBe(raw.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD"));
        else expect(now).toEqual(current);
        current = now;
      }),
      { numRuns: NUM_RUNS },
    );
  }, 60_000);
});
