import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { fireDueCronTicks } from "@switchyard/core";
import { cronState, deadLetters, outbox, runs } from "@switchyard/db";
import { describeEachDriver } from "./support/databases.ts";
import { waitFor } from "./support/wait.ts";
import { client, managerFor } from "./support/manager.ts";

describeEachDriver("triggers", (ctx) => {
  let built: Awaited<ReturnType<typeof managerFor>>;
  let admin: ReturnType<typeof client>;
  let appId: string;
  const scripts: Record<string, string> = {};
  const base = () => `/api/v1/admin/apps/${appId}/triggers`;
  const runsOfTrigger = (triggerId: string) => ctx.database.db.select().from(runs).where(eq(runs.triggerId, triggerId)).orderBy(runs.finishedAt);

  beforeAll(async () => {
    built = await managerFor(ctx.database, { worker: true });
    admin = client(built.app, built.adminToken!);
    appId = (await admin.post("/api/v1/admin/apps", { name: "triggered" })).json.id;
    const sources: Record<string, string> = {
      echo: "export default (event, ctx) => ({ event, trigger: ctx.trigger })",
      broken: 'export default () => { throw new NonRetryableError("cannot"); }',
      handler: "export default (event) => ({ original: event.dead_letter.original, attempts: event.dead_letter.attempts, error: event.dead_letter.last_error.message })",
      failing_handler: 'export default () => { throw new Error("handler broken too"); }',
    };
    for (const [name, source] of Object.entries(sources)) {
      scripts[name] = (await admin.post(`/api/v1/admin/apps/${appId}/scripts`, { name, source })).json.id;
    }
  });
  afterAll(async () => built?.services.stop());

  it("creates, shows, changes and deletes triggers, validating each kind's config", async () => {
    const created = await admin.post(base(), { kind: "http", name: "inbound", script_id: scripts.echo });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ kind: "http", url: `/api/v1/hooks/${created.json.id}`, retry: { max_attempts: 3, backoff: "exponential", base_ms: 1000 } });
    expect(created.json.id).toMatch(/^trg_[0-9a-z]{24}$/);
    expect((await admin.post(base(), { kind: "http", name: "inbound", script_id: scripts.echo })).status).toBe(409);
    const badCron = await admin.post(base(), { kind: "cron", name: "c1", script_id: scripts.echo, config: { schedule: "every day" } });
    expect(badCron.status).toBe(400);
    expect(JSON.stringify(badCron.json.error.details)).toContain("config.schedule");
    const badZone = await admin.post(base(), { kind: "cron", name: "c2", script_id: scripts.echo, config: { schedule: "0 * * * *", timezone: "Mars/Olympus" } });
    expect(JSON.stringify(badZone.json.error.details)).toContain("config.timezone");
    expect((await admin.post(base(), { kind: "http", name: "x", script_id: "scr_nope" })).status).toBe(404);
    expect((await admin.post(base(), { kind: "http", name: "y", script_id: scripts.echo, retry: { max_attempts: 0 } })).status).toBe(400);
    expect((await admin.post(base(), { kind: "email", name: "z", script_id: scripts.echo })).status).toBe(400);
    const patched = await admin.patch(`${base()}/${created.json.id}`, { enabled: false, retry: { max_attempts: 5, backoff: "fixed", base_ms: 200 } });
    expect(patched.json).toMatchObject({ enabled: false, retry: { max_attempts: 5, backoff: "fixed", base_ms: 200 } });
    expect((await admin.get(base())).json.triggers.map((t: { name: string }) => t.name)).toContain("inbound");
    expect((await admin.delete(`${base()}/${created.json.id}`)).status).toBe(204);
    expect((await admin.get(`${base()}/${created.json.id}`)).status).toBe(404);
  });

  it("accepts a webhook at an http trigger's URL, durably, and runs the script with it", async () => {
    const trigger = (await admin.post(base(), { kind: "http", name: "hook", script_id: scripts.echo, config: { max_body_bytes: 64 } })).json;
    const anon = client(built.app, null);
    const res = await anon.call("POST", `${trigger.url}?a=1`, JSON.stringify({ hello: "world" }), { "content-type": "application/json", authorization: "Bearer secret-of-caller", "x-custom": "yes" });
    expect(res.status).toBe(202);
    const [run] = await waitFor(async () => {
      const rows = await ctx.database.db.select().from(runs).where(eq(runs.eventId, res.json.event_id));
      return rows.length > 0 && rows;
    });
    const result = run!.result as any;
    expect(result.event.http).toMatchObject({ method: "POST", path: trigger.url, query: { a: "1" }, body: { hello: "world" } });
    expect(result.event.http.headers["x-custom"]).toBe("yes");
    expect(result.event.http.headers.authorization).toBeUndefined();
    expect(result.trigger).toEqual({ id: trigger.id, kind: "http", name: "hook" });
    expect((await anon.call("POST", trigger.url, "x".repeat(100), { "content-type": "text/plain" })).status).toBe(413);
    // Unknown and disabled triggers answer as a bad signature does: 401, all alike.
    expect((await anon.call("POST", "/api/v1/hooks/trg_doesnotexist", "{}", { "content-type": "application/json" })).status).toBe(401);
    await admin.patch(`${base()}/${trigger.id}`, { enabled: false });
    expect((await anon.call("POST", trigger.url, "{}", { "content-type": "application/json" })).status).toBe(401);
  });

  it("delivers a dead letter whole to matching dead_letter handlers once, and never dead-letters a failing handler", async () => {
    const source = (await admin.post(base(), { kind: "http", name: "fragile", script_id: scripts.broken })).json;
    const handler = (await admin.post(base(), { kind: "dead_letter", name: "on-dead", script_id: scripts.handler, config: { script_ids: [scripts.broken] } })).json;
    const other = (await admin.post(base(), { kind: "dead_letter", name: "only-cron", script_id: scripts.handler, config: { source_kinds: ["cron"] } })).json;
    const badHandler = (await admin.post(base(), { kind: "dead_letter", name: "bad-handler", script_id: scripts.failing_handler, retry: { max_attempts: 2, backoff: "fixed", base_ms: 20 }, config: { trigger_ids: [source.id] } })).json;
    const sent = await client(built.app, null).call("POST", source.url, JSON.stringify({ n: 1 }), { "content-type": "application/json" });
    const [handled] = await waitFor(async () => {
      const rows = await runsOfTrigger(handler.id);
      return rows.length > 0 && rows;
    });
    expect(handled!.status).toBe("ok");
    const result = handled!.result as any;
    expect(result.original).toMatchObject({ kind: "http", http: { body: { n: 1 } } });
    expect(result).toMatchObject({ attempts: 1, error: "cannot" });
    const badRuns = await waitFor(async () => {
      const rows = await runsOfTrigger(badHandler.id);
      return rows.length >= 2 && rows;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect((await runsOfTrigger(badHandler.id)).map((r) => r.attempt)).toEqual([1, 2]);
    expect(badRuns.every((r) => r.status === "error")).toBe(true);
    expect(await runsOfTrigger(other.id)).toEqual([]);
    // Exactly one dead letter: the original's. The failing handler's event is not dead-lettered.
    const dead = await ctx.database.db.select().from(deadLetters).where(eq(deadLetters.appId, appId));
    expect(dead.map((d) => d.eventId)).toEqual([sent.json.event_id]);
    expect((await runsOfTrigger(handler.id)).length).toBe(1);
  });

  it("fires a cron trigger's due tick once even when workers race, and a missed stretch only once", async () => {
    const trigger = (await admin.post(base(), { kind: "cron", name: "every-5", script_id: scripts.echo, config: { schedule: "*/5 * * * *", timezone: "Europe/Paris" }, enabled: false })).json;
    // Pretend the last fire was an hour ago: twelve ticks were missed while no worker ran.
    const db = ctx.database.db;
    await db.update(cronState).set({ lastTick: new Date(Date.now() - 3_600_000) }).where(eq(cronState.triggerId, trigger.id));
    await admin.patch(`${base()}/${trigger.id}`, { enabled: true });
    const now = new Date();
    const fired = await Promise.all([fireDueCronTicks(db, now), fireDueCronTicks(db, now), fireDueCronTicks(db, now)]);
    const events = async () =>
      (await db.select({ n: sql<number>`count(*)::int` }).from(runs).where(eq(runs.triggerId, trigger.id)))[0]!.n +
      (await db.select({ n: sql<number>`count(*)::int` }).from(outbox).where(eq(outbox.triggerId, trigger.id)))[0]!.n;
    expect(fired.reduce((a, b) => a + b, 0) + 0).toBeLessThanOrEqual(1);
    await waitFor(async () => (await runsOfTrigger(trigger.id)).length > 0);
    expect(await events()).toBe(1);
    const [run] = await runsOfTrigger(trigger.id);
    const scheduledAt = new Date((run!.result as any).event.cron.scheduled_at);
    expect(scheduledAt.getUTCMinutes() % 5).toBe(0);
    expect(now.getTime() - scheduledAt.getTime()).toBeLessThan(5 * 60_000);
    expect(await fireDueCronTicks(db, now)).toBe(0);
    await admin.patch(`${base()}/${trigger.id}`, { enabled: false });
  });
});
