import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { scripts, workspaces } from "@switchyard/db";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor, type TestApp } from "./support/manager.ts";

type Client = ReturnType<typeof client>;

/** Polls until the event's first attempt is recorded, and answers that run whole. */
async function settled(api: Client, appId: string, eventId: string, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.get(`/api/v1/admin/apps/${appId}/runs?event_id=${eventId}`);
    const first = res.json.runs?.find((r: { attempt: number }) => r.attempt === 1);
    if (first) return (await api.get(`/api/v1/admin/apps/${appId}/runs/${first.id}`)).json;
    if (Date.now() > until) throw new Error(`event ${eventId} has no run yet`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describeEachDriver("scripts and runs over the admin API", (ctx) => {
  let app: TestApp;
  let admin: Client;
  let built: Awaited<ReturnType<typeof managerFor>>;
  let appId: string;
  let otherAppId: string;
  const invoke = async (scriptId: string, payload: unknown = {}, target = appId) => {
    const res = await admin.post(`/api/v1/admin/apps/${target}/scripts/${scriptId}/invoke`, { payload });
    expect(res.status).toBe(202);
    expect(res.json.event_id).toMatch(/^evt_/);
    return settled(admin, target, res.json.event_id);
  };
  const deploy = async (name: string, source: string, extra: Record<string, unknown> = {}, target = appId) =>
    admin.post(`/api/v1/admin/apps/${target}/scripts`, { name, source, language: "js", ...extra });

  beforeAll(async () => {
    built = await managerFor(ctx.database, { settings: { scriptMaxBytes: 4096 }, worker: true });
    app = built.app;
    admin = client(app, built.adminToken!);
    appId = (await admin.post("/api/v1/admin/apps", { name: "runner" })).json.id;
    otherAppId = (await admin.post("/api/v1/admin/apps", { name: "other" })).json.id;
  });
  afterAll(async () => built?.services.stop());

  it("deploys TypeScript, runs it with a manual event and stores result, logs and timings", async () => {
    const source = `
      interface Payload { n: number }
      export default async function (event: { kind: string; payload: Payload }, ctx: any) {
        console.log("got", event.kind, event.payload.n);
        return { doubled: event.payload.n * 2, attempt: ctx.run.attempt, app: ctx.app.name };
      }`;
    const deployed = await admin.post(`/api/v1/admin/apps/${appId}/scripts`, { name: "double", source, language: "ts" });
    expect(deployed.status).toBe(201);
    expect(deployed.json).toMatchObject({ name: "double", version: 1, language: "ts", source });
    const run = await invoke(deployed.json.id, { n: 21 });
    expect(run).toMatchObject({ status: "ok", result: { doubled: 42, attempt: 1, app: "runner" }, event_kind: "manual", script_version: 1 });
    expect(run.logs.map((l: { message: string }) => l.message)).toEqual(["got manual 21"]);
    expect(run.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it("refuses the events of a quarantined version without running them, keeps the quarantine across a deploy of the same code, and lifts it with new code", async () => {
    const source = "export default () => ({ ran: true })";
    const deployed = await deploy("crashed-once", source);
    expect(deployed.json.quarantine).toBeNull();
    const id = deployed.json.id as string;
    // What the completion of a run that stopped the engine records (test/serve-catastrophe.test.ts makes a real one).
    await ctx.database.db.update(scripts).set({ crashedVersion: 1, crashedAt: new Date(), crashedRunId: "run_crashed" }).where(eq(scripts.id, id));
    expect((await admin.get(`/api/v1/admin/apps/${appId}/scripts/${id}`)).json.quarantine).toMatchObject({ version: 1, run_id: "run_crashed" });
    expect(await invoke(id)).toMatchObject({ status: "error", script_version: 1, cpu_ms: 0, result: null, error: { code: "script_quarantined", name: "ScriptQuarantinedError" } });

    const same = await admin.put(`/api/v1/admin/apps/${appId}/scripts/${id}`, { source });
    expect(same.json).toMatchObject({ version: 2, quarantine: { version: 2, run_id: "run_crashed" } });
    expect(await invoke(id)).toMatchObject({ status: "error", script_version: 2, error: { code: "script_quarantined" } });

    const changed = await admin.put(`/api/v1/admin/apps/${appId}/scripts/${id}`, { source: "export default () => ({ ran: 'again' })" });
    expect(changed.json).toMatchObject({ version: 3, quarantine: null });
    expect(await invoke(id)).toMatchObject({ status: "ok", script_version: 3, result: { ran: "again" } });
    const listed = (await admin.get(`/api/v1/admin/apps/${appId}/scripts`)).json;
    expect(JSON.stringify(listed)).toContain('"quarantine":null');
  });

  it("refuses every event of a workspace blocked for stopping the engine, until an operator (not the workspace's own admin) lifts it", async () => {
    const ws = (await admin.post("/api/v1/admin/workspaces", { name: "crash-prone" })).json;
    const appInWs = (await admin.post("/api/v1/admin/apps", { name: "in-blocked", workspace_id: ws.id })).json.id as string;
    const deployed = await deploy("innocent", "export default () => 'ran'", {}, appInWs);
    // What the third crash of the workspace's scripts within a day records (packages/core/src/outbox/quarantine.test.ts counts them).
    await ctx.database.db.update(workspaces).set({ engineBlockedAt: new Date() }).where(eq(workspaces.id, ws.id));
    expect((await admin.get("/api/v1/admin/workspaces")).json.workspaces.find((w: { id: string }) => w.id === ws.id).engine_blocked_at).not.toBeNull();
    expect(await invoke(deployed.json.id, {}, appInWs)).toMatchObject({ status: "error", cpu_ms: 0, error: { code: "workspace_blocked", name: "WorkspaceBlockedError" } });

    const own = client(app, (await admin.post("/api/v1/admin/tokens", { name: "ws-admin", scopes: ["admin"], workspace_id: ws.id })).json.token);
    const refused = await own.delete(`/api/v1/admin/workspaces/${ws.id}/engine-block`);
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe("forbidden");
    const lifted = await admin.delete(`/api/v1/admin/workspaces/${ws.id}/engine-block`);
    expect(lifted.status).toBe(200);
    expect(lifted.json).toMatchObject({ id: ws.id, engine_blocked_at: null });
    expect(await invoke(deployed.json.id, {}, appInWs)).toMatchObject({ status: "ok", result: "ran" });
    expect((await admin.delete("/api/v1/admin/workspaces/ws_nowhere/engine-block")).status).toBe(404);
  });

  it("refuses a script that does not compile with 422 and the line and column", async () => {
    const res = await deploy("broken", "export default function () {\n  return (;\n}\n");
    expect(res.status).toBe(422);
    expect(res.json.error.details.diagnostics[0]).toMatchObject({ line: 2 });
    expect(res.json.error.details.diagnostics[0].column).toBeGreaterThan(0);
    const noDefault = await deploy("nodefault", "export const x = 1;");
    expect(noDefault.status).toBe(422);
    expect(noDefault.json.error.details.reason).toBe("no_default_export");
    expect((await admin.get(`/api/v1/admin/apps/${appId}/scripts/broken`)).status).toBe(404);
  });

  it("caps the source size with 413 and refuses limits over the operator's maximum with 400", async () => {
    const big = await deploy("big", `export default () => "${"x".repeat(5000)}";`);
    expect(big.status).toBe(413);
    const greedy = await deploy("greedy", "export default () => 1;", { limits: { memory_mb: 100_000 } });
    expect(greedy.status).toBe(400);
  });

  it("bumps the version on each deploy, refuses a duplicate name, and deletes", async () => {
    const first = await deploy("versioned", "export default () => 'one';");
    expect((await deploy("versioned", "export default () => 'two';")).status).toBe(409);
    const second = await admin.put(`/api/v1/admin/apps/${appId}/scripts/${first.json.id}`, { source: "export default () => 'two';" });
    expect(second.json.version).toBe(2);
    expect((await invoke(first.json.id)).result).toBe("two");
    const listed = (await admin.get(`/api/v1/admin/apps/${appId}/scripts`)).json.scripts;
    expect(listed.find((s: { name: string }) => s.name === "versioned")).not.toHaveProperty("source");
    expect((await admin.delete(`/api/v1/admin/apps/${appId}/scripts/versioned`)).status).toBe(204);
    expect((await admin.post(`/api/v1/admin/apps/${appId}/scripts/versioned/invoke`, {})).status).toBe(404);
  });

  it("redeploys with PUT from the body POST took, renaming on a changed name and refusing a taken one with 409", async () => {
    const url = (id: string) => `/api/v1/admin/apps/${appId}/scripts/${id}`;
    const first = (await deploy("put-me", "export default () => 'one';")).json;
    await deploy("put-taken", "export default () => 'taken';");
    const same = await admin.put(url(first.id), { name: "put-me", source: "export default () => 'two';", language: "js" });
    expect(same.status).toBe(200);
    expect(same.json).toMatchObject({ id: first.id, name: "put-me", version: 2 });
    const renamed = await admin.put(url(first.id), { name: "put-renamed", source: "export default () => 'three';", language: "ts" });
    expect(renamed.status).toBe(200);
    expect(renamed.json).toMatchObject({ id: first.id, name: "put-renamed", version: 3, language: "ts" });
    expect((await admin.get(url("put-renamed"))).json.id).toBe(first.id);
    expect((await admin.get(url("put-me"))).status).toBe(404);
    const taken = await admin.put(url(first.id), { name: "put-taken", source: "export default () => 'four';", language: "js" });
    expect(taken.status).toBe(409);
    expect(taken.json.error).toMatchObject({ code: "conflict", details: { name: "put-taken" } });
    const badName = await admin.put(url(first.id), { name: "Not A Name", source: "export default () => 5;", language: "js" });
    expect(badName.status).toBe(400);
    // Nothing refused changed the stored script.
    expect((await admin.get(url(first.id))).json).toMatchObject({ name: "put-renamed", version: 3, source: "export default () => 'three';" });
  });

  it("reads its own app's secret, not another app's, and masks it in logs, errors and results", async () => {
    const secret = "tok_live_9f8e7d6c5b4a3210";
    await admin.post(`/api/v1/admin/apps/${appId}/secrets`, { name: "API_TOKEN", value: secret });
    await admin.post(`/api/v1/admin/apps/${otherAppId}/secrets`, { name: "OTHER_ONLY", value: "other-app-secret-value" });
    const source = `export default async function () {
      const token = await secrets.get("API_TOKEN");
      const foreign = await secrets.get("OTHER_ONLY");
      const names = await secrets.list();
      // No btoa in a bare isolate: base64 by hand, as a script author would have to.
      const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      let b64 = "";
      for (let i = 0; i < token.length; i += 3) {
        const n = (token.charCodeAt(i) << 16) | ((token.charCodeAt(i + 1) || 0) << 8) | (token.charCodeAt(i + 2) || 0);
        b64 += abc[(n >> 18) & 63] + abc[(n >> 12) & 63] + (i + 1 < token.length ? abc[(n >> 6) & 63] : "=") + (i + 2 < token.length ? abc[n & 63] : "=");
      }
      console.log("token is", token, b64);
      return { token, b64, url: encodeURIComponent(token + "/x"), foreign, names };
    }`;
    const script = await deploy("reader", source);
    const run = await invoke(script.json.id);
    expect(run.status, JSON.stringify(run.error)).toBe("ok");
    expect(run.result.foreign).toBeNull();
    expect(run.result.names).toContain("API_TOKEN");
    expect(run.result.names).not.toContain("OTHER_ONLY");
    expect(run.result.token).toBe("[secret:API_TOKEN]");
    expect(run.result.b64).toBe("[secret:API_TOKEN]");
    expect(run.result.url).toBe(`[secret:API_TOKEN]${encodeURIComponent("/x")}`);
    expect(run.logs[0].message).toBe("token is [secret:API_TOKEN] [secret:API_TOKEN]");
    const stored = JSON.stringify(run);
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain(Buffer.from(secret).toString("base64"));
    expect(stored).not.toContain(encodeURIComponent(secret));
    const thrower = await deploy("thrower", `export default async () => { throw new Error("bad " + await secrets.get("API_TOKEN")); }`);
    const failed = await invoke(thrower.json.id);
    expect(failed.status).toBe("error");
    expect(failed.error.message).toBe("bad [secret:API_TOKEN]");
    expect(JSON.stringify(failed)).not.toContain(secret);
    const audit = (await admin.get(`/api/v1/admin/apps/${appId}/audit?action=secret.read&name=API_TOKEN`)).json.audit;
    expect(audit.map((r: { actor_id: string }) => r.actor_id)).toEqual([failed.id, run.id]);
    expect(audit[1]).toMatchObject({ actor_type: "run", outcome: "ok", scope: "app" });
  });

  it("records timeouts and keeps the app usable afterwards", async () => {
    const spin = await deploy("spin", "export default () => { for (;;) {} };", { limits: { cpu_ms: 200, wall_ms: 2000 } });
    const run = await invoke(spin.json.id);
    expect(run.status).toBe("timeout");
    const ok = await deploy("after-spin", "export default () => 'fine';");
    expect((await invoke(ok.json.id)).status).toBe("ok");
  });

  it("answers email.send with not_configured until email exists, as an error with a code", async () => {
    const mailer = await deploy("mailer", `export default async () => {
      try { await email.send({ to: "a@example.com", subject: "s", text: "t" }); return "sent"; }
      catch (e) { return { code: e.code, message: e.message }; }
    }`);
    expect((await invoke(mailer.json.id)).result).toMatchObject({ code: "not_configured" });
  });

  it("lists runs with filters and pages", async () => {
    const all = (await admin.get(`/api/v1/admin/apps/${appId}/runs`)).json.runs;
    expect(all.length).toBeGreaterThan(3);
    expect(all[0]).not.toHaveProperty("logs");
    const errors = (await admin.get(`/api/v1/admin/apps/${appId}/runs?status=error`)).json.runs;
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((r: { status: string }) => r.status === "error")).toBe(true);
    const page = (await admin.get(`/api/v1/admin/apps/${appId}/runs?limit=2`)).json.runs;
    const next = (await admin.get(`/api/v1/admin/apps/${appId}/runs?limit=2&before=${page[1].id}`)).json.runs;
    expect(next[0].id).not.toBe(page[0].id);
    expect((await admin.get(`/api/v1/admin/apps/${appId}/runs?status=bogus`)).status).toBe(400);
    const reader = client(app, (await admin.post("/api/v1/admin/tokens", { name: "r", scopes: ["scripts:read"] })).json.token);
    expect((await reader.get(`/api/v1/admin/apps/${appId}/runs`)).status).toBe(403);
  });
});
