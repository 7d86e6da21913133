import { beforeAll, expect, it } from "vitest";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor, type TestApp } from "./support/manager.ts";

type Client = ReturnType<typeof client>;
const GLOBAL_VALUE = "gl_live_0123456789abcdefghij";

describeEachDriver("what a token reaches of secrets, whatever path it takes", (ctx) => {
  let app: TestApp;
  let admin: Client;
  let built: Awaited<ReturnType<typeof managerFor>>;
  const token = async (scopes: string[], workspace_id?: string) =>
    client(app, (await admin.post("/api/v1/admin/tokens", { name: "t", scopes, ...(workspace_id ? { workspace_id } : {}) })).json.token);

  beforeAll(async () => {
    built = await managerFor(ctx.database);
    app = built.app;
    admin = client(app, built.adminToken!);
  });

  it("answers a dry-run import without secrets:reveal would_set for every existing name, so it confirms no guess, and audits it", async () => {
    const appId = (await admin.post("/api/v1/admin/apps", { name: "pins" })).json.id;
    const base = `/api/v1/admin/apps/${appId}`;
    await admin.post(`${base}/secrets`, { name: "A_PIN", value: "7390" });
    const writer = await token(["secrets:write"]);
    const importAs = (who: Client, text: string, dry: boolean) =>
      who.call("POST", `${base}/secret-imports${dry ? "?dry_run=true" : ""}`, text, { "content-type": "text/plain" });

    const right = await importAs(writer, "A_PIN=7390\nFRESH_NAME=x\n", true);
    const wrong = await importAs(writer, "A_PIN=7391\nFRESH_NAME=x\n", true);
    expect(right.status).toBe(200);
    expect(right.json).toEqual(wrong.json);
    expect(right.json).toMatchObject({
      dry_run: true,
      results: [
        { name: "A_PIN", status: "would_set", line: 1 },
        { name: "FRESH_NAME", status: "created", line: 2 },
      ],
      would_set: 1,
      created: 1,
      unchanged: 0,
      updated: 0,
    });
    const previews = (await admin.get(`${base}/audit?action=secret.import_preview&name=A_PIN`)).json.audit;
    expect(previews).toHaveLength(2);
    expect(previews[0]).toMatchObject({ actor_type: "token", outcome: "ok", details: { status: "would_set", line: 1 } });
    expect(JSON.stringify(previews)).not.toMatch(/739[01]/);

    // A real import compares nothing either: the right guess is written as a new version, like any other.
    const real = await importAs(writer, "A_PIN=7390\n", false);
    expect(real.json.results).toEqual([{ name: "A_PIN", status: "updated", line: 1 }]);
    expect((await admin.post(`${base}/secrets/A_PIN/reveal`)).json).toMatchObject({ value: "7390", version: 2 });

    // A token that may reveal the value learns nothing new from the comparison.
    const revealer = await token(["secrets:write", "secrets:reveal"]);
    expect((await importAs(revealer, "A_PIN=7390\n", true)).json.results).toEqual([{ name: "A_PIN", status: "unchanged", line: 1 }]);
    expect((await importAs(revealer, "A_PIN=7391\n", true)).json.results).toEqual([{ name: "A_PIN", status: "updated", line: 1 }]);
  });

  it("keeps inherited global secrets from a workspace token through an app or a workspace exactly as at /global", async () => {
    const ws = (await admin.post("/api/v1/admin/workspaces", { name: "reach" })).json;
    const appId = (await admin.post("/api/v1/admin/apps", { name: "reacher", workspace_id: ws.id })).json.id;
    await admin.post("/api/v1/admin/global/secrets", { name: "G_ONLY", value: GLOBAL_VALUE });
    await admin.post("/api/v1/admin/global/secrets", { name: "SHADOWED", value: GLOBAL_VALUE });
    await admin.post(`/api/v1/admin/workspaces/${ws.id}/secrets`, { name: "W_SHARED", value: "workspace-value" });
    await admin.post(`/api/v1/admin/apps/${appId}/secrets`, { name: "SHADOWED", value: "app-value" });
    const limited = await token(["secrets:read", "secrets:write", "secrets:reveal"], ws.id);
    const atGlobal = await limited.post("/api/v1/admin/global/secrets/G_ONLY/reveal");
    expect(atGlobal.status).toBe(403);

    for (const base of [`/api/v1/admin/apps/${appId}`, `/api/v1/admin/workspaces/${ws.id}`]) {
      const listed = (await limited.get(`${base}/secrets`)).json.secrets as { name: string; overrides: string[] }[];
      expect(listed.map((s) => s.name), base).not.toContain("G_ONLY");
      expect(listed.find((s) => s.name === "W_SHARED"), base).toBeDefined();
      expect(JSON.stringify(listed)).not.toContain("global");
      for (const res of [
        await limited.get(`${base}/secrets/G_ONLY`),
        await limited.post(`${base}/secrets/G_ONLY/reveal`),
        await limited.get(`${base}/secrets/G_ONLY/versions`),
        await limited.post(`${base}/secrets/G_ONLY/rollback`, { version: 1 }),
        await limited.delete(`${base}/secrets/G_ONLY`),
        // A name no scope holds answers the same, so the 403 tells nothing of what the global scope holds.
        await limited.post(`${base}/secrets/NO_SUCH_NAME/reveal`),
        await limited.get(`${base}/secrets/NO_SUCH_NAME`),
      ]) {
        expect(res.status, base).toBe(403);
        expect(res.json.error).toEqual(atGlobal.json.error);
        expect(JSON.stringify(res.json)).not.toContain(GLOBAL_VALUE);
      }
    }
    // Inherited workspace secrets follow the workspace's rule: this token may reveal them through the app.
    expect((await limited.post(`/api/v1/admin/apps/${appId}/secrets/W_SHARED/reveal`)).json).toMatchObject({ value: "workspace-value", scope: "workspace" });
    expect((await limited.post(`/api/v1/admin/apps/${appId}/secrets/SHADOWED/reveal`)).json).toMatchObject({ value: "app-value", scope: "app" });
    const denied = (await admin.get(`/api/v1/admin/apps/${appId}/audit?name=G_ONLY`)).json.audit;
    expect(denied.map((r: { action: string }) => r.action).sort()).toEqual(["secret.delete", "secret.preview", "secret.reveal", "secret.rollback", "secret.versions"]);
    expect(denied.every((r: { outcome: string; details: { reason: string } }) => r.outcome === "denied" && r.details.reason === "workspace_limited")).toBe(true);

    // Scripts still read inherited globals: that is the app's power, not the token's.
    const run = { type: "run" as const, id: "run_reach", appId };
    expect(await built.secrets.resolveSecret(appId, "G_ONLY", run)).toMatchObject({ value: GLOBAL_VALUE, scope: "global" });
    expect((await built.secrets.listSecretNames(appId)).map((n) => n.name)).toContain("G_ONLY");
    // And a token limited to no workspace sees them through the app as before.
    expect((await admin.post(`/api/v1/admin/apps/${appId}/secrets/G_ONLY/reveal`)).json).toMatchObject({ value: GLOBAL_VALUE, scope: "global" });
  });
});
