import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { signWebhook } from "@switchyard/crypto";
import { runs } from "@switchyard/db";
import { startSmtpSink, type SmtpSink } from "@switchyard/email/testing";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor } from "./support/manager.ts";
import { waitFor } from "./support/wait.ts";

// The stats endpoints over real work: scripts run by the worker (successes,
// a failure, a dead letter), mail through a real SMTP server (one accepted,
// one refused), inbound email and http requests accepted and refused. What
// the API answers is what happened, per app and for the instance, and who
// may ask.

const sum = (series: number[]) => series.reduce((a, b) => a + b, 0);

describeEachDriver("the stats API", (ctx) => {
  let built: Awaited<ReturnType<typeof managerFor>>;
  let admin: ReturnType<typeof client>;
  let sink: SmtpSink;
  let appId: string;
  let otherAppId: string;

  const deploy = async (app: string, name: string, source: string) => (await admin.post(`/api/v1/admin/apps/${app}/scripts`, { name, source })).json.id as string;
  const invoke = async (app: string, scriptId: string, payload: unknown = {}) => {
    const res = await admin.post(`/api/v1/admin/apps/${app}/scripts/${scriptId}/invoke`, { payload });
    expect(res.status).toBe(202);
    return res.json.event_id as string;
  };
  const finished = (eventId: string) =>
    waitFor(async () => {
      const rows = await ctx.database.db.select().from(runs).where(eq(runs.eventId, eventId));
      return rows.length > 0 && rows.every((r) => r.status !== "running") && rows;
    }, 20_000);

  beforeAll(async () => {
    sink = await startSmtpSink({ refuse: (a) => a.startsWith("nobody@") });
    built = await managerFor(ctx.database, { worker: true, settings: { smtpUrl: sink.url, emailFrom: "noreply@switchyard.test", statsSampleMs: 60_000 } });
    admin = client(built.app, built.adminToken!);
    appId = (await admin.post("/api/v1/admin/apps", { name: "measured" })).json.id;
    const workspace = (await admin.post("/api/v1/admin/workspaces", { name: "elsewhere" })).json.id;
    otherAppId = (await admin.post("/api/v1/admin/apps", { name: "elsewhere-app", workspace_id: workspace })).json.id;

    const ok = await deploy(appId, "ok", "export default async (event) => ({ kind: event.kind })");
    const fails = await deploy(appId, "fails", `export default async () => { throw new NonRetryableError("no"); }`);
    const mails = await deploy(appId, "mails", `export default async (event) => { try { return await email.send({ to: event.payload.to, subject: "hi", text: "hello" }); } catch (e) { return { code: e.code }; } }`);
    const events = [
      ...[1, 2, 3].map((n) => invoke(appId, ok, { n })),
      invoke(appId, fails),
      invoke(appId, mails, { to: "ann@example.com" }),
      invoke(appId, mails, { to: "nobody@example.com" }),
      invoke(otherAppId, await deploy(otherAppId, "ok", "export default async () => 1")),
    ];
    for (const id of await Promise.all(events)) await finished(id);

    // Inbound: an http trigger (unsigned: accepted), a signed email trigger (one good, one bad signature), and an id that names nothing.
    const hook = (await admin.post(`/api/v1/admin/apps/${appId}/triggers`, { kind: "http", name: "hook", script_id: ok, config: {} })).json;
    expect((await built.app.request(`/api/v1/hooks/${hook.id}`, { method: "POST", body: JSON.stringify({ n: 4 }), headers: { "content-type": "application/json" } })).status).toBe(202);
    const inbox = (await admin.post(`/api/v1/admin/apps/${appId}/triggers`, { kind: "email", name: "inbox", script_id: ok, config: { provider: "generic" } })).json;
    const body = JSON.stringify({ from: "a@example.com", subject: "s", text: "t", message_id: "<1@example.com>" });
    const id = `msg_${randomBytes(6).toString("hex")}`;
    const ts = Math.floor(Date.now() / 1000);
    const headers = { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": signWebhook(inbox.signing_secret, id, ts, body) };
    expect((await built.app.request(`/api/v1/email-inbound/${inbox.id}`, { method: "POST", body, headers })).status).toBe(202);
    expect((await built.app.request(`/api/v1/email-inbound/${inbox.id}`, { method: "POST", body, headers: { ...headers, "webhook-signature": "v1,AAAA" } })).status).toBe(401);
    expect((await built.app.request(`/api/v1/hooks/trg_${"0".repeat(24)}`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } })).status).toBe(401);
    // The hook's and the inbound email's runs finish before any test reads the stats: the
    // instance-wide and per-app reads are made one after the other and must see the same runs.
    await waitFor(async () => {
      const rows = await ctx.database.db.select().from(runs).where(eq(runs.appId, appId));
      return rows.length === 8 && rows.every((r) => r.status !== "running");
    }, 20_000);
    await built.services.inboundTally.flush();
    await built.services.queueSampler?.sample();
  }, 60_000);
  afterAll(async () => {
    await built?.services.stop();
    await sink?.close();
  });

  it("counts the app's runs by status, its dead letter, mail sent and refused, and inbound accepted and refused", async () => {
    const res = await admin.get(`/api/v1/admin/apps/${appId}/stats?window=1h`);
    expect(res.status).toBe(200);
    const s = res.json;
    expect(s).toMatchObject({ app_id: appId, workspace_id: null, window: "1h", bucket_seconds: 60 });
    expect(s.buckets).toHaveLength(60);
    for (const series of [s.runs.ok, s.runs.error, s.duration_ms.p50, s.queue.depth, s.dead_letters, s.mail.sent, s.inbound.http.refused]) expect(series).toHaveLength(60);
    // 3 ok + 2 mail runs + the hook's and the inbound email's runs.
    expect(sum(s.runs.ok)).toBe(7);
    expect(sum(s.runs.error)).toBe(1);
    expect(sum(s.dead_letters)).toBe(1);
    expect([sum(s.mail.sent), sum(s.mail.failed), sum(s.mail.captured)]).toEqual([1, 1, 0]);
    expect([sum(s.inbound.email.accepted), sum(s.inbound.email.refused), sum(s.inbound.http.accepted), sum(s.inbound.http.refused)]).toEqual([1, 1, 1, 0]);
    expect(s.totals).toMatchObject({ failed_runs: 1, dead_letters: 1, mail_sent: 1, mail_failed: 1, inbound_accepted: 2, inbound_refused: 1 });
    expect(s.totals.p95_ms).toBeGreaterThanOrEqual(s.totals.p50_ms);
    // Durations where something ran, nothing where nothing did.
    const busy = s.runs.ok.map((n: number, i: number) => n + s.runs.error[i]);
    busy.forEach((n: number, i: number) => (n > 0 ? expect(s.duration_ms.p50[i]).not.toBeNull() : expect(s.duration_ms.p50[i]).toBeNull()));
    // The worker sampled this minute: a number (0 or more), not a gap.
    expect(s.queue.depth[59] ?? s.queue.depth[58]).not.toBeNull();
    expect(s.queue_now).toMatchObject({ depth: expect.any(Number), due: expect.any(Number) });
    const day = (await admin.get(`/api/v1/admin/apps/${appId}/stats?window=24h`)).json;
    expect(day).toMatchObject({ window: "24h", bucket_seconds: 900 });
    expect(day.buckets).toHaveLength(96);
    expect(day.totals).toMatchObject({ failed_runs: 1, dead_letters: 1, mail_sent: 1, mail_failed: 1, inbound_accepted: 2, inbound_refused: 1 });
  });

  it("answers the instance across workspaces for an unlimited token, with refusals that named no trigger; a workspace token sees its workspace", async () => {
    const all = (await admin.get("/api/v1/admin/stats")).json;
    expect(all).toMatchObject({ app_id: null, workspace_id: null, window: "1h" });
    expect(all.totals.inbound_refused).toBe(2);
    const mine = (await admin.get(`/api/v1/admin/apps/${appId}/stats`)).json;
    expect(all.totals.runs).toBeGreaterThan(mine.totals.runs);
    const other = (await admin.get(`/api/v1/admin/apps/${otherAppId}/stats`)).json;
    const workspace = other.app_id && (await admin.get(`/api/v1/admin/apps/${otherAppId}`)).json.workspace_id;
    const limited = (await admin.post("/api/v1/admin/tokens", { name: "ops", scopes: ["runs:read"], workspace_id: workspace })).json.token;
    const ops = client(built.app, limited);
    const seen = (await ops.get("/api/v1/admin/stats?window=24h")).json;
    expect(seen).toMatchObject({ workspace_id: workspace });
    expect(seen.totals).toMatchObject({ runs: 1, failed_runs: 0, dead_letters: 0, inbound_refused: 0 });
    expect((await ops.get(`/api/v1/admin/apps/${appId}/stats`)).status).toBe(404);
  });

  it("refuses a window it does not know with a 400 naming the query, and a token without runs:read with a 403", async () => {
    for (const path of [`/api/v1/admin/apps/${appId}/stats?window=7d`, "/api/v1/admin/stats?window=", "/api/v1/admin/stats?window=1h&extra=1"]) {
      const res = await admin.get(path);
      expect(res.status, path).toBe(400);
      expect(res.json.error.code).toBe("invalid_input");
      expect(res.json.error.details[0].path).toBe(path.includes("extra") ? "" : "window");
    }
    const writer = (await admin.post("/api/v1/admin/tokens", { name: "writer", scopes: ["scripts:write"] })).json.token;
    const res = await client(built.app, writer).get("/api/v1/admin/stats");
    expect(res.status).toBe(403);
    expect(res.json.error).toMatchObject({ code: "forbidden", details: { required: "runs:read" } });
    expect((await client(built.app, null).get("/api/v1/admin/stats")).status).toBe(401);
  });

  it("describes both endpoints in the OpenAPI document", async () => {
    const doc = (await admin.get("/api/v1/openapi.json")).json;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/api/v1/admin/apps/{appId}/stats", "/api/v1/admin/stats"]));
    const op = doc.paths["/api/v1/admin/stats"].get;
    expect(JSON.stringify(op.parameters)).toContain("window");
  });
});
