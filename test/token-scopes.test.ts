import { sql } from "drizzle-orm";
import { beforeAll, expect, it } from "vitest";
import { hashToken } from "@switchyard/crypto";
import { apiTokens, migrate, resultRows } from "@switchyard/db";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor, type TestApp } from "./support/manager.ts";

describeEachDriver("token scopes that run code, and the workspace a token is limited to", (ctx) => {
  let app: TestApp;
  let admin: ReturnType<typeof client>;

  beforeAll(async () => {
    const built = await managerFor(ctx.database);
    app = built.app;
    admin = client(app, built.adminToken!);
  });

  it("issues a token that may deploy code without secrets:reveal: its scripts read unbound secrets, a host-bound one only as a placeholder", async () => {
    // Issue 14 made such tokens hold secrets:reveal, since their code read every value; issue 16's
    // host-bound secrets never enter the sandbox, so the scope no longer implies every value.
    const made = await admin.post("/api/v1/admin/tokens", { name: "deployer", scopes: ["scripts:write", "runs:read"] });
    expect(made.status).toBe(201);
    const deployer = client(app, made.json.token);
    expect((await deployer.get("/api/v1/admin/whoami")).json.scopes).toEqual(["runs:read", "scripts:write"]);
    const appId = (await admin.post("/api/v1/admin/apps", { name: "deployer-app" })).json.id as string;
    expect((await admin.post(`/api/v1/admin/apps/${appId}/secrets`, { name: "BOUND", value: "bound-value-0123456789", bound_hosts: ["api.example.com"] })).status).toBe(201);
    expect((await deployer.post(`/api/v1/admin/apps/${appId}/secrets/BOUND/reveal`, {})).status).toBe(403);
    const deployed = await deployer.post(`/api/v1/admin/apps/${appId}/scripts`, { name: "peek", source: 'export default async () => secrets.get("BOUND")' });
    expect(deployed.status).toBe(201);
  });

  it("writes secrets:reveal into older tokens that could run code (migration 0009), and whoami shows it", async () => {
    const db = ctx.database.db;
    const old = async (name: string, scopes: string[]) => {
      const token = `sy_${name}_${"x".repeat(40)}`;
      await db.insert(apiTokens).values({ id: `tok_${name}`, name, tokenHash: hashToken(token), scopes });
      return client(app, token);
    };
    const deployer = await old("olddeployer", ["scripts:write", "runs:read"]);
    const wirer = await old("oldwirer", ["triggers:write"]);
    const reader = await old("oldreader", ["runs:read"]);
    const root = await old("oldroot", ["admin"]);
    await db.execute(sql`delete from switchyard_migrations where tag = '0009_code_scopes_reveal'`);
    expect((await migrate(db)).applied).toEqual(["0009_code_scopes_reveal"]);

    expect((await deployer.get("/api/v1/admin/whoami")).json.scopes).toEqual(["runs:read", "scripts:write", "secrets:reveal"]);
    expect((await wirer.get("/api/v1/admin/whoami")).json.scopes).toEqual(["secrets:reveal", "triggers:write"]);
    expect((await reader.get("/api/v1/admin/whoami")).json.scopes).toEqual(["runs:read"]);
    expect((await root.get("/api/v1/admin/whoami")).json.scopes).toEqual(["admin"]);
    // Only this test's tokens: the first test's deployer (made without secrets:reveal, as is allowed now) is widened too.
    const rows = await db.execute(sql`select name from audit_log where action = 'token.scopes_widened' and name like 'old%' order by name`);
    expect(resultRows<{ name: string }>(rows).map((r) => r.name)).toEqual(["olddeployer", "oldwirer"]);

    // Applied again, it finds nothing left to widen.
    await db.execute(sql`delete from switchyard_migrations where tag = '0009_code_scopes_reveal'`);
    await migrate(db);
    expect((await deployer.get("/api/v1/admin/whoami")).json.scopes).toEqual(["runs:read", "scripts:write", "secrets:reveal"]);
  });

  it("asks for a scope that implies reveal on every route that makes code run", async () => {
    const doc = (await client(app, null).get("/api/v1/openapi.json")).json;
    const runsCode = [
      ["post", "/api/v1/admin/apps/{appId}/scripts"],
      ["put", "/api/v1/admin/apps/{appId}/scripts/{scriptId}"],
      ["post", "/api/v1/admin/apps/{appId}/scripts/{scriptId}/invoke"],
      ["post", "/api/v1/admin/apps/{appId}/triggers"],
      ["patch", "/api/v1/admin/apps/{appId}/triggers/{triggerId}"],
      ["post", "/api/v1/admin/apps/{appId}/dead-letters/{deadLetterId}/replay"],
      ["post", "/api/v1/admin/apps/{appId}/dead-letters/replay"],
    ] as const;
    for (const [method, path] of runsCode) {
      const scope = doc.paths[path]?.[method]?.["x-required-scope"];
      expect(["scripts:write", "triggers:write", "admin"], `${method} ${path}`).toContain(scope);
    }
  });

  it("stores the workspace id when a token is asked for by the workspace's name", async () => {
    const ws = (await admin.post("/api/v1/admin/workspaces", { name: "named-team" })).json;
    const created = await admin.post("/api/v1/admin/tokens", { name: "by-name", scopes: ["apps:write"], workspace_id: "named-team" });
    expect(created.status).toBe(201);
    expect(created.json.workspace_id).toBe(ws.id);
    const limited = client(app, created.json.token);
    expect((await limited.get("/api/v1/admin/whoami")).json.workspace_id).toBe(ws.id);
    expect((await limited.post("/api/v1/admin/apps", { name: "team-app" })).json.workspace_id).toBe(ws.id);

    // A workspace token names its own workspace by name too, and no other, existing or not.
    const teamAdmin = client(app, (await admin.post("/api/v1/admin/tokens", { name: "team-admin", scopes: ["admin"], workspace_id: ws.id })).json.token);
    const own = await teamAdmin.post("/api/v1/admin/tokens", { name: "sub", scopes: ["runs:read"], workspace_id: "named-team" });
    expect(own.status).toBe(201);
    expect(own.json.workspace_id).toBe(ws.id);
    for (const other of ["default", "no-such-team"]) {
      const res = await teamAdmin.post("/api/v1/admin/tokens", { name: "esc", scopes: ["runs:read"], workspace_id: other });
      expect(res.status, other).toBe(403);
      expect(res.json.error.code).toBe("forbidden");
    }
    expect((await admin.post("/api/v1/admin/tokens", { name: "x", scopes: ["runs:read"], workspace_id: "no-such-team" })).status).toBe(404);
  });
});
