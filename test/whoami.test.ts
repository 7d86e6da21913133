import { beforeAll, expect, it } from "vitest";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor, type TestApp } from "./support/manager.ts";

describeEachDriver("GET /api/v1/admin/whoami", (ctx) => {
  let app: TestApp;
  let admin: ReturnType<typeof client>;

  beforeAll(async () => {
    const built = await managerFor(ctx.database);
    app = built.app;
    admin = client(app, built.adminToken!);
  });

  it("shows the bootstrap token as an admin limited to no workspace", async () => {
    const res = await admin.get("/api/v1/admin/whoami");
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ type: "token", id: expect.stringMatching(/^tok_/), scopes: ["admin"], workspace_id: null });
  });

  it("shows a limited token its own id, its scopes sorted, and its workspace", async () => {
    const ws = await admin.post("/api/v1/admin/workspaces", { name: "whoami-team" });
    expect(ws.status).toBe(201);
    const created = await admin.post("/api/v1/admin/tokens", { name: "reader", scopes: ["secrets:read", "runs:read"], workspace_id: ws.json.id });
    expect(created.status).toBe(201);
    const res = await client(app, created.json.token).get("/api/v1/admin/whoami");
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ type: "token", id: created.json.id, scopes: ["runs:read", "secrets:read"], workspace_id: ws.json.id });
  });

  it("answers without a token, or with a revoked one, 401", async () => {
    const res = await client(app, null).get("/api/v1/admin/whoami");
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe("unauthorized");
    const created = await admin.post("/api/v1/admin/tokens", { name: "brief", scopes: ["secrets:read"] });
    expect((await admin.delete(`/api/v1/admin/tokens/${created.json.id}`)).status).toBe(204);
    expect((await client(app, created.json.token).get("/api/v1/admin/whoami")).status).toBe(401);
  });

  it("is listed in the OpenAPI document under tokens, needing only a bearer token", async () => {
    const doc = (await client(app, null).get("/api/v1/openapi.json")).json;
    const op = doc.paths["/api/v1/admin/whoami"].get;
    expect(op.tags).toEqual(["tokens"]);
    expect(op.security).toEqual([{ bearer: [] }]);
    expect(op["x-required-scope"]).toBeUndefined();
  });
});
