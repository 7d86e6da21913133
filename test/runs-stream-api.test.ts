import { createRunFeed, silentLogger, type Database } from "@switchyard/core";
import { createManagerApp } from "@switchyard/manager";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPglite } from "./support/databases.ts";
import { client, managerFor } from "./support/manager.ts";
import { collectEvents } from "./support/sse.ts";
import { waitFor } from "./support/wait.ts";

// The live tail's HTTP contract in process (PGlite, a worker in the same
// process): scopes and tenancy, a bad cursor, heartbeats, the per-process
// cap and what a client going away gives back. Runs finishing in another
// process: runs-stream.solo.test.ts.

describe("GET /api/v1/admin/apps/{appId}/runs/stream", () => {
  let database: Database;
  let manager: Awaited<ReturnType<typeof managerFor>>;
  let feed: ReturnType<typeof createRunFeed>;
  let app: ReturnType<typeof createManagerApp>;
  let admin: ReturnType<typeof client>;
  const streamPath = (appId: string) => `/api/v1/admin/apps/${appId}/runs/stream`;
  const open = (path: string, token: string | null, headers: Record<string, string> = {}) =>
    app.request(path, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });

  beforeAll(async () => {
    database = await openPglite();
    manager = await managerFor(database, { worker: true });
    feed = createRunFeed({ db: database.db, logger: silentLogger, maxStreams: 2, pollMs: 50 });
    const services = manager.services;
    app = createManagerApp({
      database,
      logger: silentLogger,
      metrics: new Registry(),
      secrets: services.secrets,
      scripts: services.scripts,
      invoker: services.invoker,
      inbound: manager.inbound,
      runStream: { feed, heartbeatMs: 50 },
    });
    admin = client(app, manager.adminToken);
  });
  afterAll(async () => {
    feed.close();
    await manager.services.stop();
    await database.close();
  });

  it("streams a finished run as a run event whose id is the run id, with its logs, after heartbeats", async () => {
    const shop = (await admin.post("/api/v1/admin/apps", { name: "shop" })).json;
    const script = (await admin.post(`/api/v1/admin/apps/${shop.id}/scripts`, { name: "hello", source: "export default (e) => { console.log('hi', e.payload); return 7 }" })).json;
    const res = await open(streamPath("shop"), manager.adminToken);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const stream = collectEvents(res);
    const { event_id } = (await admin.post(`/api/v1/admin/apps/${shop.id}/scripts/${script.id}/invoke`, { payload: 1 })).json;
    await waitFor(async () => stream.runs().length === 1, 10_000);
    const [run] = stream.runs();
    expect(run).toMatchObject({ event_id, app_id: shop.id, status: "ok", result: 7, logs: [{ level: "log", message: "hi 1" }] });
    expect(stream.events.find((e) => e.event === "run")?.id).toBe(run!.id);
    await waitFor(async () => stream.state.comments >= 3, 5_000);
    await stream.close();
  });

  it("shows a token that may not manage triggers trg_hidden for every trigger id, as the runs list does", async () => {
    const hooks = (await admin.post("/api/v1/admin/apps", { name: "hooks" })).json;
    const script = (await admin.post(`/api/v1/admin/apps/${hooks.id}/scripts`, { name: "echo", source: "export default (e) => { console.log('path', e.http.path); return e.http.path }" })).json;
    const trigger = (await admin.post(`/api/v1/admin/apps/${hooks.id}/triggers`, { kind: "http", name: "in", script_id: script.id })).json;
    expect(trigger.id).toMatch(/^trg_/);
    const reader = (await admin.post("/api/v1/admin/tokens", { name: "reader", scopes: ["runs:read"] })).json;
    const res = await open(streamPath(hooks.id), reader.token);
    expect(res.status).toBe(200);
    const stream = collectEvents(res);
    expect((await app.request(`/api/v1/hooks/${trigger.id}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status).toBe(202);
    await waitFor(async () => stream.runs().length === 1, 10_000);
    const seen = JSON.stringify(stream.events);
    expect(seen).not.toContain(trigger.id);
    expect(stream.runs()[0]).toMatchObject({ trigger_id: "trg_hidden", status: "ok" });
    await stream.close();
  });

  it("refuses a token without runs:read (403), an app of another workspace (404) and an unknown Last-Event-ID (400), in API.md's error shape", async () => {
    const scoped = (await admin.post("/api/v1/admin/tokens", { name: "scripts-only", scopes: ["scripts:read"] })).json;
    const forbidden = await open(streamPath("shop"), scoped.token);
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as any).error.code).toBe("forbidden");

    const elsewhere = (await admin.post("/api/v1/admin/workspaces", { name: "elsewhere" })).json;
    const tenant = (await admin.post("/api/v1/admin/tokens", { name: "tenant", scopes: ["runs:read"], workspace_id: elsewhere.id })).json;
    const hidden = await open(streamPath("shop"), tenant.token);
    expect(hidden.status).toBe(404);
    expect(((await hidden.json()) as any).error.code).toBe("not_found");

    const bad = await open(streamPath("shop"), manager.adminToken, { "last-event-id": "run_made_up" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error).toMatchObject({ code: "invalid_cursor" });
    expect((await open(streamPath("shop"), null)).status).toBe(401);
  });

  it("refuses a stream past the per-process cap with 503 overloaded and Retry-After, and frees its place when a client goes away", async () => {
    const a = collectEvents(await open(streamPath("shop"), manager.adminToken));
    const b = collectEvents(await open(streamPath("shop"), manager.adminToken));
    const refused = await open(streamPath("shop"), manager.adminToken);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("5");
    expect(((await refused.json()) as any).error).toMatchObject({ code: "overloaded" });
    expect(feed.size).toBe(2);
    await a.close();
    await waitFor(async () => feed.size === 1, 5_000);
    const c = await open(streamPath("shop"), manager.adminToken);
    expect(c.status).toBe(200);
    await collectEvents(c).close();
    await b.close();
    await waitFor(async () => feed.size === 0, 5_000);
  });

  it("ends open streams when the feed closes at shutdown", async () => {
    const s = collectEvents(await open(streamPath("shop"), manager.adminToken));
    await waitFor(async () => feed.size === 1, 5_000);
    feed.close();
    await s.ended;
    expect(feed.size).toBe(0);
  });

  it("is in the OpenAPI document under runs:read", async () => {
    const doc = (await admin.get("/api/v1/openapi.json")).json;
    expect(Object.keys(doc.paths)).toContain("/api/v1/admin/apps/{appId}/runs/stream");
  });
});
