import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { outbox } from "@switchyard/db";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor } from "./support/manager.ts";

/** `[[[...1...]]]`, `depth` levels, as raw JSON text (JSON.stringify itself overflows near 4,000). */
const deepText = (depth: number) => `${"[".repeat(depth)}1${"]".repeat(depth)}`;

describeEachDriver("input PostgreSQL cannot store is refused with 400, never 500", (ctx) => {
  let built: Awaited<ReturnType<typeof managerFor>>;
  let admin: ReturnType<typeof client>;
  let appId: string;
  let scriptId: string;

  beforeAll(async () => {
    built = await managerFor(ctx.database);
    admin = client(built.app, built.adminToken!);
    appId = (await admin.post("/api/v1/admin/apps", { name: "unstorable" })).json.id;
    scriptId = (await admin.post(`/api/v1/admin/apps/${appId}/scripts`, { name: "s", source: "export default () => 1" })).json.id;
  });
  afterAll(async () => built?.services.stop());

  const invokePath = () => `/api/v1/admin/apps/${appId}/scripts/${scriptId}/invoke`;

  it("refuses U+0000 and lone surrogates in an invoke payload, naming the path", async () => {
    const nul = await admin.post(invokePath(), { payload: { a: ["ok", "x\u0000y"] } });
    expect(nul.status).toBe(400);
    expect(nul.json.error).toMatchObject({ code: "unsupported_character", details: { path: "payload.a.1" } });
    const lone = await admin.post(invokePath(), '{"payload":{"k":"\\ud800"}}');
    expect(lone.status).toBe(400);
    expect(lone.json.error).toMatchObject({ code: "unsupported_character", details: { path: "payload.k" } });
    const key = await admin.post(invokePath(), { payload: { "k\u0000": 1 } });
    expect(key.json.error).toMatchObject({ code: "unsupported_character" });
  });

  it("refuses 5,000- and 10,000-deep JSON with 400 too_deep in invoke, secret set and trigger config", async () => {
    for (const depth of [101, 5_000, 10_000]) {
      const invoked = await admin.post(invokePath(), `{"payload":${deepText(depth)}}`);
      expect(invoked.status, `invoke ${depth}`).toBe(400);
      expect(invoked.json.error).toMatchObject({ code: "too_deep" });
      const secret = await admin.post(`/api/v1/admin/apps/${appId}/secrets`, `{"name":"DEEP","value":${deepText(depth)}}`);
      expect(secret.status, `secret ${depth}`).toBe(400);
      expect(secret.json.error.code).toBe("too_deep");
      const trigger = await admin.post(`/api/v1/admin/apps/${appId}/triggers`, `{"kind":"http","name":"t","script_id":"${scriptId}","config":{"x":${deepText(depth)}}}`);
      expect(trigger.status, `trigger ${depth}`).toBe(400);
      expect(trigger.json.error.code).toBe("too_deep");
    }
    expect((await admin.get(`/api/v1/admin/apps/${appId}/secrets`)).json.secrets.map((s: { name: string }) => s.name)).not.toContain("DEEP");
  });

  it("accepts JSON exactly 100 levels deep", async () => {
    // The body's own object is a level, so the payload gets 99.
    expect((await admin.post(invokePath(), `{"payload":${deepText(99)}}`)).status).toBe(202);
    expect((await admin.post(invokePath(), `{"payload":${deepText(100)}}`)).status).toBe(400);
  });

  it("refuses a number JSON cannot represent (1e400) with 400 unsupported_number", async () => {
    const res = await admin.post(invokePath(), '{"payload":{"n":1e400}}');
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: "unsupported_number", details: { path: "payload.n" } });
    expect((await admin.post(invokePath(), '{"payload":{"n":1e308}}')).status).toBe(202);
  });

  it("refuses U+0000 in a token name, a script source, a secret value and a query string", async () => {
    const token = await admin.post("/api/v1/admin/tokens", { name: "a\u0000b", scopes: ["runs:read"] });
    expect(token.status).toBe(400);
    expect(token.json.error).toMatchObject({ code: "unsupported_character", details: { path: "name" } });
    const script = await admin.post(`/api/v1/admin/apps/${appId}/scripts`, { name: "nul", source: "export default () => '\u0000'" });
    expect(script.json.error).toMatchObject({ code: "unsupported_character", details: { path: "source" } });
    const secret = await admin.post(`/api/v1/admin/apps/${appId}/secrets`, { name: "NUL", value: { password: "a\u0000b" } });
    expect(secret.json.error).toMatchObject({ code: "unsupported_character", details: { path: "value.password" } });
    const query = await admin.get(`/api/v1/admin/apps/${appId}/runs?script_id=a%00b`);
    expect(query.status).toBe(400);
    expect(query.json.error).toMatchObject({ code: "unsupported_character", details: { path: "query.script_id.0" } });
    // Every value of a repeated parameter, not only the first one.
    const repeated = await admin.get(`/api/v1/admin/apps/${appId}/runs?script_id=ok&script_id=a%00b`);
    expect(repeated.json.error).toMatchObject({ code: "unsupported_character", details: { path: "query.script_id.1" } });
    const param = await admin.get(`/api/v1/admin/apps/${appId}/secrets/A%00B`);
    expect(param.json.error).toMatchObject({ code: "unsupported_character", details: { path: "params.name" } });
  });

  it("refuses a dotenv import holding U+0000 and imports nothing of it", async () => {
    const res = await admin.post(`/api/v1/admin/apps/${appId}/secret-imports`, "FIRST=fine\nSECOND=a\u0000b\n", { "content-type": "text/plain" });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("unsupported_character");
    const names = (await admin.get(`/api/v1/admin/apps/${appId}/secrets`)).json.secrets.map((s: { name: string }) => s.name);
    expect(names).not.toContain("FIRST");
  });

  it("stores a \"__proto__\" key of an invoke payload and of a secret value as sent, not dropped", async () => {
    const text = '{"__proto__":{"admin":true},"n":1}';
    const invoked = await admin.post(invokePath(), `{"payload":${text}}`);
    expect(invoked.status).toBe(202);
    const [row] = await ctx.database.db.select().from(outbox).where(eq(outbox.id, invoked.json.event_id));
    const ownProto = (value: unknown) => Object.getOwnPropertyDescriptor(value, "__proto__")?.value;
    expect(ownProto((row!.event as { payload: unknown }).payload)).toEqual({ admin: true });
    expect((await admin.post(`/api/v1/admin/apps/${appId}/secrets`, `{"name":"PROTO","value":${text}}`)).status).toBe(201);
    const revealed = await built.app.request(`/api/v1/admin/apps/${appId}/secrets/PROTO/reveal`, { method: "POST", headers: { authorization: `Bearer ${built.adminToken}` } });
    expect(ownProto(JSON.parse(await revealed.text()).value)).toEqual({ admin: true });
  });
});
