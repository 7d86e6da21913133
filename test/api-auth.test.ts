import { beforeAll, expect, it } from "vitest";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor, type TestApp } from "./support/manager.ts";

const expectError = (res: { status: number; json: Record<string, any> }, status: number, code: string) => {
  expect(res.status).toBe(status);
  expect(res.json.error.code).toBe(code);
  expect(typeof res.json.error.message).toBe("string");
};

describeEachDriver("admin API auth and errors", (ctx) => {
  let app: TestApp;
  let admin: ReturnType<typeof client>;

  beforeAll(async () => {
    const built = await managerFor(ctx.database);
    app = built.app;
    admin = client(app, built.adminToken!);
  });

  it("answers a request without a token with 401 and a Bearer challenge", async () => {
    const res = await client(app, null).get("/api/v1/admin/apps");
    expectError(res, 401, "unauthorized");
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("answers an unknown, malformed or revoked token with the same 401", async () => {
    expectError(await client(app, "sy_not-a-real-token").get("/api/v1/admin/apps"), 401, "unauthorized");
    const malformed = await app.request("/api/v1/admin/apps", { headers: { authorization: "Basic abc" } });
    expect(malformed.status).toBe(401);
    const created = await admin.post("/api/v1/admin/tokens", { name: "short-lived", scopes: ["runs:read"] });
    expect(created.status).toBe(201);
    expect(created.json.token).toMatch(/^sy_/);
    const temp = client(app, created.json.token);
    expect((await temp.get("/api/v1/admin/apps")).status).toBe(200);
    expect((await admin.delete(`/api/v1/admin/tokens/${created.json.id}`)).status).toBe(204);
    expectError(await temp.get("/api/v1/admin/apps"), 401, "unauthorized");
  });

  it("answers a token without the needed scope with 403 naming the scope", async () => {
    const { json } = await admin.post("/api/v1/admin/tokens", { name: "reader", scopes: ["runs:read"] });
    const reader = client(app, json.token);
    const res = await reader.post("/api/v1/admin/apps", { name: "nope" });
    expectError(res, 403, "forbidden");
    expect(res.json.error.details.required).toBe("apps:write");
    expectError(await reader.post("/api/v1/admin/tokens", { name: "x", scopes: ["admin"] }), 403, "forbidden");
    expectError(await reader.post("/api/v1/admin/workspaces", { name: "w" }), 403, "forbidden");
  });

  it("answers malformed JSON, wrong content types and invalid fields with 400 and zod issues", async () => {
    expectError(await admin.post("/api/v1/admin/apps", "{not json"), 400, "invalid_input");
    expectError(await admin.post("/api/v1/admin/apps", "name=x", { "content-type": "application/x-www-form-urlencoded" }), 400, "invalid_input");
    const bad = await admin.post("/api/v1/admin/apps", { name: "Has Spaces", extra: 1 });
    expectError(bad, 400, "invalid_input");
    const paths = (bad.json.error.details as { path: string }[]).map((d) => d.path);
    expect(paths).toContain("name");
    expectError(await admin.post("/api/v1/admin/tokens", { name: "x", scopes: ["root"] }), 400, "invalid_input");
    expectError(await admin.post("/api/v1/admin/apps", [1, 2]), 400, "invalid_input");
    expectError(await admin.post("/api/v1/admin/apps", "null"), 400, "invalid_input");
  });

  it("answers unknown ids and routes with 404", async () => {
    expectError(await admin.get("/api/v1/admin/apps/app_doesnotexist"), 404, "not_found");
    expectError(await admin.delete("/api/v1/admin/tokens/tok_nope"), 404, "not_found");
    expectError(await admin.get("/api/v1/nothing-here"), 404, "not_found");
  });

  it("creates, finds by id or name, and refuses a duplicate app with 409", async () => {
    const created = await admin.post("/api/v1/admin/apps", { name: "billing" });
    expect(created.status).toBe(201);
    expect(created.json.id).toMatch(/^app_[0-9a-z]{24}$/);
    expect((await admin.get(`/api/v1/admin/apps/${created.json.id}`)).json.name).toBe("billing");
    expect((await admin.get("/api/v1/admin/apps/billing")).json.id).toBe(created.json.id);
    expectError(await admin.post("/api/v1/admin/apps", { name: "billing" }), 409, "conflict");
    expectError(await admin.post("/api/v1/admin/workspaces", { name: "default" }), 409, "conflict");
  });

  it("answers an oversized body with 413 before reading it", async () => {
    const small = await managerFor(ctx.database, { maxBodyBytes: 1024 });
    const res = await client(small.app, null).post("/api/v1/admin/apps", { name: "x".repeat(5000) });
    expectError(res, 413, "too_large");
  });

  it("keeps a workspace token inside its workspace", async () => {
    const ws = await admin.post("/api/v1/admin/workspaces", { name: "team-a" });
    const other = await admin.post("/api/v1/admin/workspaces", { name: "team-b" });
    const bApp = await admin.post("/api/v1/admin/apps", { name: "b-app", workspace_id: other.json.id });
    const tok = await admin.post("/api/v1/admin/tokens", { name: "a-admin", scopes: ["admin"], workspace_id: ws.json.id });
    const a = client(app, tok.json.token);
    const aApp = await a.post("/api/v1/admin/apps", { name: "a-app" });
    expect(aApp.status).toBe(201);
    expect(aApp.json.workspace_id).toBe(ws.json.id);
    expectError(await a.get(`/api/v1/admin/apps/${bApp.json.id}`), 404, "not_found");
    expectError(await a.delete(`/api/v1/admin/apps/${bApp.json.id}`), 404, "not_found");
    expectError(await a.post("/api/v1/admin/apps", { name: "sneaky", workspace_id: other.json.id }), 404, "not_found");
    expect((await a.get("/api/v1/admin/apps")).json.apps.map((x: { name: string }) => x.name)).toEqual(["a-app"]);
    expect((await a.get("/api/v1/admin/workspaces")).json.workspaces.map((x: { name: string }) => x.name)).toEqual(["team-a"]);
    expectError(await a.post("/api/v1/admin/workspaces", { name: "team-c" }), 403, "forbidden");
    expectError(await a.post("/api/v1/admin/tokens", { name: "esc", scopes: ["admin"], workspace_id: other.json.id }), 403, "forbidden");
    const sub = await a.post("/api/v1/admin/tokens", { name: "a-runs", scopes: ["runs:read"] });
    expect(sub.json.workspace_id).toBe(ws.json.id);
  });

  it("never answers 500 to junk sent at any documented route", async () => {
    const doc = (await client(app, null).get("/api/v1/openapi.json")).json;
    const bodies = ["", "{", "[]", '{"name":null}', '{"name":"' + "a".repeat(300) + '"}', "\u0000", '{"scopes":"admin"}'];
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(ops)) {
        const concrete = path.replace(/\{[^}]+\}/g, "zz%20unknown");
        for (const body of bodies) {
          for (const who of [admin, client(app, null)]) {
            const res = await who.call(method.toUpperCase(), concrete, method === "get" || method === "delete" ? undefined : body);
            expect(res.status, `${method} ${concrete} ${body}`).toBeLessThan(500);
            checked += 1;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(50);
  });
});
