import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runs } from "@switchyard/db";
import { parseConfig } from "@switchyard/server";
import { describeEachDriver } from "./support/databases.ts";
import { startCountingServer, type CountingServer } from "./support/fetch-servers.ts";
import { client, managerFor } from "./support/manager.ts";
import { waitFor } from "./support/wait.ts";

// The connectivity API and trigger in one process with a worker: a script's
// fetches to a real local server → the recorder → the status rules → the
// admin API, and a status change → the connectivity trigger's run.

/** Fetches `event.payload.url` `n` times; answers each status or error code. */
const FETCH_N = `export default async (event) => {
  const out = [];
  for (let i = 0; i < event.payload.n; i++) {
    try { const res = await fetch(event.payload.url); await res.text(); out.push(res.status); }
    catch (e) { out.push(e.code); }
  }
  return out;
}`;
const ALERT = `export default async (event, ctx) => ({ kind: event.kind, trigger: ctx.trigger && ctx.trigger.kind, ...event.connectivity });`;

describeEachDriver("the connectivity API and trigger", (ctx) => {
  let server: CountingServer;
  let mode: "ok" | "fail" = "ok";
  let built: Awaited<ReturnType<typeof managerFor>>;
  let admin: ReturnType<typeof client>;
  let appId: string;
  let fetcherId: string;
  let alertId: string;
  let host: string;

  beforeAll(async () => {
    server = await startCountingServer((_req, res) => {
      res.writeHead(mode === "ok" ? 200 : 503);
      res.end(mode);
    });
    host = `127.0.0.1:${server.port}`;
    const settings = parseConfig({ SWITCHYARD_EGRESS_ALLOW: host, SWITCHYARD_CONNECTIVITY_WINDOW_MS: "5000", SWITCHYARD_CONNECTIVITY_FLUSH_MS: "100" });
    built = await managerFor(ctx.database, { worker: true, settings });
    admin = client(built.app, built.adminToken!);
    appId = (await admin.post("/api/v1/admin/apps", { name: "watched" })).json.id;
    fetcherId = (await admin.post(`/api/v1/admin/apps/${appId}/scripts`, { name: "fetcher", source: FETCH_N })).json.id;
    alertId = (await admin.post(`/api/v1/admin/apps/${appId}/scripts`, { name: "alert", source: ALERT })).json.id;
  });
  afterAll(async () => {
    await built?.services.stop();
    await server?.close();
  });

  const fetchTimes = async (n: number) => {
    const invoked = await admin.post(`/api/v1/admin/apps/${appId}/scripts/${fetcherId}/invoke`, { payload: { url: `${server.origin}/v1/ping?q=1`, n } });
    expect(invoked.status).toBe(202);
    return waitFor(async () => {
      const [row] = await ctx.database.db.select().from(runs).where(eq(runs.eventId, invoked.json.event_id));
      return row && row.status !== "running" && row;
    });
  };
  const hostEntry = async () => ((await admin.get(`/api/v1/admin/apps/${appId}/connectivity`)).json.hosts as any[]).find((h) => h.host === host);

  it("accepts connectivity triggers through the triggers API, defaults what they leave out, and refuses an unknown status", async () => {
    const made = await admin.post(`/api/v1/admin/apps/${appId}/triggers`, { kind: "connectivity", name: "watch", script_id: alertId, config: { hosts: [host], statuses: ["down", "healthy"] } });
    expect(made.status, JSON.stringify(made.json)).toBe(201);
    expect(made.json).toMatchObject({ kind: "connectivity", config: { hosts: [host], statuses: ["down", "healthy"] } });
    const any = await admin.post(`/api/v1/admin/apps/${appId}/triggers`, { kind: "connectivity", name: "any-other", script_id: alertId, config: { hosts: ["elsewhere.example"] } });
    expect(any.json.config).toEqual({ hosts: ["elsewhere.example"], statuses: [] });
    const bad = await admin.post(`/api/v1/admin/apps/${appId}/triggers`, { kind: "connectivity", name: "bad", script_id: alertId, config: { statuses: ["sideways"] } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details.issues[0].path).toBe("config.statuses.0");
    const listed = (await admin.get(`/api/v1/admin/apps/${appId}/triggers`)).json.triggers as any[];
    expect(listed.filter((t) => t.kind === "connectivity").map((t) => t.name).sort()).toEqual(["any-other", "watch"]);
  });

  it("records a script's fetches per destination host and shows them with this worker's share", async () => {
    const run = await fetchTimes(4);
    expect(run.result).toEqual([200, 200, 200, 200]);
    const entry = await waitFor(async () => {
      const h = await hostEntry();
      return h && h.requests >= 4 && h;
    });
    expect(entry).toMatchObject({ host, status: "healthy", requests: 4, errors: 0, errors_by_code: {}, last_status: 200, last_error: null });
    expect(entry.p50_ms).toBeGreaterThan(0);
    expect(entry.p95_ms).toBeGreaterThanOrEqual(entry.p50_ms);
    expect(new Date(entry.last_success_at).getTime()).toBeGreaterThan(Date.now() - 30_000);
    expect(entry.workers).toHaveLength(1);
    expect(entry.workers[0]).toMatchObject({ requests: 4, errors: 0, last_status: 200 });
    expect(typeof entry.workers[0].worker_id).toBe("string");
    const listed = (await admin.get(`/api/v1/admin/apps/${appId}/connectivity`)).json;
    expect(listed).toMatchObject({ app_id: appId, window_ms: 5000 });
    expect(await admin.get("/api/v1/admin/connectivity/health").then((r) => r.json)).toMatchObject({ overall_status: "healthy", healthy: 1, degraded: 0, down: 0, total_hosts: 1 });
  });

  it("fires the trigger once when the host goes down and once when it comes back, with the change in event.connectivity", async () => {
    mode = "fail";
    expect((await fetchTimes(6)).result).toEqual(Array(6).fill(503));
    const down = await waitFor(async () => {
      const h = await hostEntry();
      return h?.status === "down" && h;
    });
    expect(down).toMatchObject({ last_error: "http_503", last_status: 503, errors_by_code: { http_503: 6 } });
    expect((await admin.get("/api/v1/admin/connectivity/health")).json).toMatchObject({ overall_status: "down", down: 1, total_hosts: 1 });

    mode = "ok";
    await fetchTimes(5);
    await waitFor(async () => (await hostEntry())?.status === "healthy");
    const fired = await waitFor(async () => {
      const rows = await ctx.database.db.select().from(runs).where(and(eq(runs.appId, appId), eq(runs.scriptId, alertId)));
      return rows.length >= 2 && rows.every((r) => r.status !== "running") && rows;
    });
    const results = fired.map((r) => r.result as any).sort((a, b) => a.since.localeCompare(b.since));
    expect(results.map((r) => [r.kind, r.trigger, r.host, r.from, r.to])).toEqual([
      ["connectivity", "connectivity", host, "healthy", "down"],
      ["connectivity", "connectivity", host, "down", "healthy"],
    ]);
    expect(results[0].last_error).toBe("http_503");
    expect(new Date(results[1].since).getTime()).toBeGreaterThan(new Date(results[0].since).getTime());
    // The host filter of "any-other" matched neither change; nothing else ran.
    await new Promise((r) => setTimeout(r, 300));
    expect(await ctx.database.db.select().from(runs).where(and(eq(runs.appId, appId), eq(runs.scriptId, alertId)))).toHaveLength(2);
  });

  it("answers an unknown app with 404, a token without runs:read with 403, and counts only a workspace token's own apps", async () => {
    const missing = await admin.get("/api/v1/admin/apps/app_nope/connectivity");
    expect(missing.status).toBe(404);
    expect(missing.json.error).toMatchObject({ code: "not_found" });
    const noScope = client(built.app, (await admin.post("/api/v1/admin/tokens", { name: "scripts-only", scopes: ["scripts:read"] })).json.token);
    expect((await noScope.get(`/api/v1/admin/apps/${appId}/connectivity`)).status).toBe(403);
    expect((await noScope.get("/api/v1/admin/connectivity/health")).json.error.code).toBe("forbidden");
    const reader = client(built.app, (await admin.post("/api/v1/admin/tokens", { name: "reader", scopes: ["runs:read"] })).json.token);
    expect((await reader.get(`/api/v1/admin/apps/${appId}/connectivity`)).status).toBe(200);
    expect((await reader.get("/api/v1/admin/connectivity/health")).json.total_hosts).toBe(1);
    const team = (await admin.post("/api/v1/admin/workspaces", { name: "team" })).json.id;
    const teamReader = client(built.app, (await admin.post("/api/v1/admin/tokens", { name: "team-reader", scopes: ["runs:read"], workspace_id: team })).json.token);
    expect((await teamReader.get("/api/v1/admin/connectivity/health")).json).toMatchObject({ overall_status: "healthy", total_hosts: 0, healthy: 0 });
    // Another workspace's app is not there for it at all.
    expect((await teamReader.get(`/api/v1/admin/apps/${appId}/connectivity`)).status).toBe(404);
  });

  it("lists both routes in the OpenAPI document with the scope they need", async () => {
    const doc = (await admin.get("/api/v1/openapi.json")).json;
    expect(doc.paths["/api/v1/admin/apps/{appId}/connectivity"].get["x-required-scope"]).toBe("runs:read");
    expect(doc.paths["/api/v1/admin/connectivity/health"].get["x-required-scope"]).toBe("runs:read");
  });
});
