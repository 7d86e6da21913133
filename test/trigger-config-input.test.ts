import { afterAll, beforeAll, expect, it } from "vitest";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor } from "./support/manager.ts";

/**
 * Trigger bodies are sent as raw JSON text here: `{"__proto__": ...}` in an
 * object literal would set the literal's prototype, not send the key.
 */
describeEachDriver("a trigger's config and retry as JSON.parse made them", (ctx) => {
  let built: Awaited<ReturnType<typeof managerFor>>;
  let admin: ReturnType<typeof client>;
  let appId: string;
  let scriptId: string;
  const base = () => `/api/v1/admin/apps/${appId}/triggers`;

  beforeAll(async () => {
    built = await managerFor(ctx.database);
    admin = client(built.app, built.adminToken!);
    appId = (await admin.post("/api/v1/admin/apps", { name: "protos" })).json.id;
    scriptId = (await admin.post(`/api/v1/admin/apps/${appId}/scripts`, { name: "noop", source: "export default () => 1" })).json.id;
  });
  afterAll(async () => built?.services.stop());

  const create = (name: string, rest: string) => admin.post(base(), `{"kind":"http","name":"${name}","script_id":"${scriptId}",${rest}}`);

  it("refuses a __proto__ key in config or retry with 400 naming it, instead of dropping it unsaid", async () => {
    const cases: [string, string, string][] = [
      // zod's z.record dropped the key without a word: 201, as if it had not been sent.
      ["config", `"config":{"__proto__":{"signing":true}}`, "config.__proto__"],
      ["retry", `"retry":{"__proto__":{"max_attempts":100}}`, "retry.__proto__"],
      ["beside real fields", `"config":{"max_body_bytes":2048,"__proto__":{}}`, "config.__proto__"],
      ["nested", `"config":{"max_body_bytes":{"__proto__":1}}`, "config.max_body_bytes.__proto__"],
    ];
    for (const [what, rest, path] of cases) {
      const res = await create(`p-${what.replace(/ /g, "-")}`, rest);
      expect([what, res.status, res.json.error?.code]).toEqual([what, 400, "invalid_input"]);
      expect(res.json.error.details).toContainEqual(expect.objectContaining({ path }));
    }
    expect((await admin.get(base())).json.triggers).toEqual([]);
  });

  it("refuses a __proto__ key in a PATCH too, leaving the trigger as it was", async () => {
    const created = await create("patched", `"config":{"max_body_bytes":4096}`);
    expect(created.status).toBe(201);
    for (const body of [`{"config":{"__proto__":{"signing":true}}}`, `{"retry":{"__proto__":{"base_ms":10}}}`]) {
      const res = await admin.patch(`${base()}/${created.json.id}`, body);
      expect([body, res.status, res.json.error?.code]).toEqual([body, 400, "invalid_input"]);
    }
    const shown = await admin.get(`${base()}/${created.json.id}`);
    expect(shown.json).toMatchObject({ config: { max_body_bytes: 4096, signing: "none" }, retry: { max_attempts: 3, backoff: "exponential", base_ms: 1000 } });
  });

  it("still takes config and retry objects without such keys, and refuses ones that are not objects", async () => {
    const ok = await create("plain", `"config":{"max_body_bytes":2048,"signing":true},"retry":{"max_attempts":2}`);
    expect(ok.status).toBe(201);
    expect(ok.json).toMatchObject({ config: { max_body_bytes: 2048, signing: "standard_webhooks" }, retry: { max_attempts: 2 } });
    for (const rest of [`"config":[]`, `"config":null`, `"retry":"fast"`]) {
      expect((await create("not-objects", rest)).status).toBe(400);
    }
  });
});
