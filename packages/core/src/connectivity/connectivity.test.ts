import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { connect, connectivityMinutes, connectivityStatus, outbox, scripts, triggers, type Database, type Db } from "@switchyard/db";
import { describeEachDriver } from "../../../../test/support/databases.ts";
import { silentLogger } from "../logger.ts";
import { createApp, deleteApp } from "../tenancy.ts";
import type { FetchOutcome } from "./attempts.ts";
import { evaluateHosts } from "./evaluate.ts";
import type { ConnectivityEvent } from "./events.ts";
import { createConnectivityRecorder } from "./recorder.ts";
import { DEFAULT_STATUS_RULES, type StatusRules } from "./rules.ts";
import { createConnectivityService } from "./service.ts";

const SYSTEM = { type: "system" as const, id: "test" };
const ADMIN = { type: "token" as const, id: "tok_test", scopes: new Set(["admin" as const]), workspaceId: null };
const rules: StatusRules = { ...DEFAULT_STATUS_RULES, windowMs: 10_000 }; // 2 s buckets

const fast = (url: string, n = 1): FetchOutcome[] => Array.from({ length: n }, () => ({ url, status: 200, duration_ms: 20, outcome: "ok" }));
const failing = (url: string, n = 1, outcome = "connect_failed"): FetchOutcome[] => Array.from({ length: n }, () => ({ url, status: null, duration_ms: 5, outcome }));
const answering = (url: string, status: number, n = 1): FetchOutcome[] => Array.from({ length: n }, () => ({ url, status, duration_ms: 30, outcome: "ok" }));

/** A clock the test moves. */
function clock() {
  let t = Date.now();
  return { now: () => t, advance: (ms: number) => (t += ms), date: () => new Date(t) };
}

describeEachDriver("connectivity records and status", (ctx) => {
  const db = () => ctx.database.db;
  let n = 0;

  async function appWithTriggers(configs: Array<{ name: string; config: Record<string, unknown>; enabled?: boolean }>) {
    const app = await createApp(db(), SYSTEM, { name: `conn-${++n}` });
    const scriptId = `scr_conn_${n}`;
    await db().insert(scripts).values({ id: scriptId, appId: app.id, name: "alert", version: 1, language: "js", source: "", compiled: "", limits: {} });
    const ids: Record<string, string> = {};
    for (const t of configs) {
      ids[t.name] = `trg_conn_${n}_${t.name}`;
      await db()
        .insert(triggers)
        .values({ id: ids[t.name]!, appId: app.id, scriptId, kind: "connectivity", name: t.name, config: { hosts: [], statuses: [], ...t.config }, retry: { max_attempts: 1, backoff: "fixed", base_ms: 10 }, enabled: t.enabled ?? true });
    }
    return { app, ids };
  }

  const eventsOf = async (appId: string) =>
    (await db().select().from(outbox).where(and(eq(outbox.appId, appId), eq(outbox.kind, "connectivity")))).map((r) => ({ trigger: r.triggerId, ...(r.event as ConnectivityEvent).connectivity }));
  const statusOf = async (appId: string, host: string) =>
    (await db().select().from(connectivityStatus).where(and(eq(connectivityStatus.appId, appId), eq(connectivityStatus.host, host))))[0];

  it("writes each worker's running totals as its own rows, and the API merges them with a per-worker breakdown", async () => {
    const { app } = await appWithTriggers([]);
    const c = clock();
    const a = createConnectivityRecorder({ db: db(), workerId: "worker-a", rules, logger: silentLogger, now: c.now });
    const b = createConnectivityRecorder({ db: db(), workerId: "worker-b", rules, logger: silentLogger, now: c.now });
    a.record(app.id, [...fast("https://api.example.com/v1/a", 8), ...answering("https://api.example.com/v1/a", 404)]);
    a.record(app.id, [{ url: "https://api.example.com/slow", status: null, duration_ms: 700, outcome: "aborted" }]);
    // Refused on this side before anything was sent: nothing about the API, not counted.
    for (const outcome of ["egress_denied", "egress_limit", "secret_host_mismatch", "egress_busy"]) a.record(app.id, [{ url: "https://api.example.com/v1/a", status: null, duration_ms: 0, outcome }]);
    await a.flush();
    // Written twice: the row holds the running totals, not a sum of writes.
    a.record(app.id, answering("https://api.example.com/v1/a", 503));
    await a.flush();
    await a.flush();
    c.advance(10);
    b.record(app.id, [...fast("https://api.example.com/x", 9), ...failing("https://api.example.com/x", 1, "egress_timeout")]);
    b.record(app.id, fast("http://127.0.0.1:8080/", 2));
    await b.flush();

    const rows = await db().select().from(connectivityMinutes).where(eq(connectivityMinutes.appId, app.id));
    expect(rows.map((r) => [r.workerId, r.host, r.requests, r.errors]).sort()).toEqual([
      ["worker-a", "api.example.com", 10, 1],
      ["worker-b", "127.0.0.1:8080", 2, 0],
      ["worker-b", "api.example.com", 10, 1],
    ]);

    const service = createConnectivityService({ db: db(), rules, now: c.date });
    const listed = await service.list(ADMIN, app.name);
    expect(listed.window_ms).toBe(10_000);
    const api = listed.hosts.find((h) => h.host === "api.example.com")!;
    expect(api).toMatchObject({ status: "healthy", requests: 20, errors: 2, errors_by_code: { http_503: 1, egress_timeout: 1 }, last_error: "egress_timeout", last_status: null });
    expect(api.p50_ms).toBeLessThanOrEqual(25);
    expect(api.p95_ms).toBeLessThanOrEqual(50);
    expect(api.workers.map((w) => [w.worker_id, w.requests, w.errors, w.last_error])).toEqual([
      ["worker-a", 10, 1, "http_503"],
      ["worker-b", 10, 1, "egress_timeout"],
    ]);
    expect(listed.hosts.map((h) => h.host).sort()).toEqual(["127.0.0.1:8080", "api.example.com"]);
    // 10% failed: not more than 10%, so healthy, as the status rows say.
    expect((await statusOf(app.id, "api.example.com"))?.status).toBe("healthy");
  });

  it("fires one event per matching enabled trigger on each change, and none while the status holds", async () => {
    const { app, ids } = await appWithTriggers([
      { name: "any", config: {} },
      { name: "only-down", config: { statuses: ["down"] } },
      { name: "this-host", config: { hosts: ["api.example.com"] } },
      { name: "other-host", config: { hosts: ["*.other.example"] } },
      { name: "off", config: {}, enabled: false },
    ]);
    const c = clock();
    const w = createConnectivityRecorder({ db: db(), workerId: "w", rules, logger: silentLogger, now: c.now });
    w.record(app.id, fast("https://api.example.com/", 20));
    await w.flush();
    expect(await eventsOf(app.id)).toEqual([]);
    expect(await statusOf(app.id, "api.example.com")).toMatchObject({ status: "healthy", changes: 0 });

    w.record(app.id, failing("https://api.example.com/", 5));
    c.advance(100);
    await w.flush();
    const down = await statusOf(app.id, "api.example.com");
    expect(down).toMatchObject({ status: "down", changes: 1, lastError: "connect_failed" });
    const events = await eventsOf(app.id);
    expect(events.map((e) => e.trigger).sort()).toEqual([ids.any, ids["only-down"], ids["this-host"]].sort());
    for (const e of events) expect(e).toMatchObject({ host: "api.example.com", from: "healthy", to: "down", since: down!.since.toISOString(), last_error: "connect_failed" });

    // More failures: still down, nothing fires.
    w.record(app.id, failing("https://api.example.com/", 3));
    await w.flush();
    expect(await eventsOf(app.id)).toHaveLength(3);
  });

  it("brings a down host back healthy after 5 successes in a row although its outage is still in the window, and restarts its window", async () => {
    const { app } = await appWithTriggers([{ name: "any", config: {} }]);
    const host = "https://api.example.com/";
    const c = clock();
    const w = createConnectivityRecorder({ db: db(), workerId: "w", rules, logger: silentLogger, now: c.now });
    w.record(app.id, fast(host, 10));
    await w.flush();
    c.advance(500);
    w.record(app.id, failing(host, 10));
    await w.flush();
    expect((await statusOf(app.id, "api.example.com"))?.status).toBe("down");
    c.advance(500);
    w.record(app.id, fast(host, 4));
    await w.flush();
    expect((await statusOf(app.id, "api.example.com"))?.status).toBe("down");
    w.record(app.id, fast(host, 1));
    await w.flush();
    const back = await statusOf(app.id, "api.example.com");
    expect(back).toMatchObject({ status: "healthy", changes: 2 });
    expect(back?.recoveredAt).not.toBeNull();
    // Later successes: the 10 failures before the recovery do not make it degraded.
    c.advance(2_500);
    w.record(app.id, fast(host, 3));
    await w.flush();
    expect((await statusOf(app.id, "api.example.com"))?.status).toBe("healthy");
    expect((await eventsOf(app.id)).map((e) => `${e.from}->${e.to}`)).toEqual(["healthy->down", "down->healthy"]);
    // The API still counts the whole window: what happened, not what the rules weigh.
    const listed = await createConnectivityService({ db: db(), rules, now: c.date }).list(ADMIN, app.id);
    expect(listed.hosts[0]).toMatchObject({ host: "api.example.com", status: "healthy", requests: 28, errors: 10 });
  });

  it("turns degraded past 10% failures or on slow answers, and healthy again as they leave the window", async () => {
    const { app } = await appWithTriggers([{ name: "any", config: {} }]);
    const c = clock();
    const w = createConnectivityRecorder({ db: db(), workerId: "w", rules, logger: silentLogger, now: c.now });
    w.record(app.id, [...fast("https://slow.example/", 5), ...Array.from({ length: 5 }, () => ({ url: "https://slow.example/", status: 200, duration_ms: 2600, outcome: "ok" }))]);
    w.record(app.id, [...fast("https://flaky.example/", 8), ...answering("https://flaky.example/", 429), ...fast("https://flaky.example/", 1)]);
    w.record(app.id, [...fast("https://flaky.example/", 1), ...answering("https://flaky.example/", 500)]);
    await w.flush();
    expect((await statusOf(app.id, "slow.example"))?.status).toBe("degraded");
    expect((await statusOf(app.id, "flaky.example"))?.status).toBe("degraded");
    // The window is 10 s: 14 s later only the new fast answers count.
    c.advance(14_000);
    w.record(app.id, fast("https://slow.example/", 2));
    w.record(app.id, fast("https://flaky.example/", 2));
    await w.flush();
    expect((await statusOf(app.id, "slow.example"))?.status).toBe("healthy");
    expect((await statusOf(app.id, "flaky.example"))?.status).toBe("healthy");
    expect((await eventsOf(app.id)).map((e) => `${e.host} ${e.from}->${e.to}`).sort()).toEqual([
      "flaky.example degraded->healthy",
      "flaky.example healthy->degraded",
      "slow.example degraded->healthy",
      "slow.example healthy->degraded",
    ]);
  });

  it("skips the rows of an app deleted since its runs, and keeps writing the others", async () => {
    const { app: gone } = await appWithTriggers([]);
    const { app: kept } = await appWithTriggers([]);
    const w = createConnectivityRecorder({ db: db(), workerId: "w", rules, logger: silentLogger });
    w.record(gone.id, fast("https://a.example/"));
    w.record(kept.id, fast("https://a.example/"));
    await deleteApp(db(), SYSTEM, gone.id);
    await w.flush();
    expect(await db().select().from(connectivityMinutes).where(eq(connectivityMinutes.appId, gone.id))).toEqual([]);
    expect(await db().select().from(connectivityMinutes).where(eq(connectivityMinutes.appId, kept.id))).toHaveLength(1);
    expect(w.stats()).toEqual({ pairs: 2, unevaluated: 0 });
  });

  it("caps the hosts one app holds, so an app fetching endless hostnames leaves room for the others", async () => {
    const { app: noisy } = await appWithTriggers([]);
    const { app: quiet } = await appWithTriggers([]);
    const w = createConnectivityRecorder({ db: db(), workerId: "w", rules, logger: silentLogger, maxPairs: 50, maxHostsPerApp: 10 });
    for (let i = 0; i < 100; i++) w.record(noisy.id, fast(`https://h${i}.example/`));
    w.record(quiet.id, fast("https://api.example.com/"));
    await w.flush();
    expect(await db().select().from(connectivityMinutes).where(eq(connectivityMinutes.appId, noisy.id))).toHaveLength(10);
    expect(await db().select().from(connectivityMinutes).where(eq(connectivityMinutes.appId, quiet.id))).toHaveLength(1);
  });

  describeRace(ctx);
});

/**
 * The compare-and-set: workers that evaluate the same change at the same
 * moment fire it once. On PostgreSQL the second worker has its own
 * connection pool, as a second process would.
 */
function describeRace(ctx: { driver: string; readonly database: Database; readonly url: string | null }) {
  let other: Database | null = null;
  beforeAll(async () => {
    if (ctx.url) other = await connect({ url: ctx.url, poolSize: 4 });
  });
  afterAll(async () => {
    await other?.close();
  });

  it("fires each change once when two workers evaluate it at the same moment", async () => {
    const db: Db = ctx.database.db;
    const second: Db = other?.db ?? db;
    const app = await createApp(db, SYSTEM, { name: `race-${ctx.driver}` });
    await db.insert(scripts).values({ id: `scr_race_${ctx.driver}`, appId: app.id, name: "alert", version: 1, language: "js", source: "", compiled: "", limits: {} });
    await db.insert(triggers).values({ id: `trg_race_${ctx.driver}`, appId: app.id, scriptId: `scr_race_${ctx.driver}`, kind: "connectivity", name: "any", config: { hosts: [], statuses: [] }, retry: { max_attempts: 1, backoff: "fixed", base_ms: 10 } });
    const hosts = Array.from({ length: 30 }, (_, i) => `h${i}.example`);
    const w = createConnectivityRecorder({ db, workerId: "w", rules, logger: silentLogger });
    for (const h of hosts) w.record(app.id, fast(`https://${h}/`, 3));
    await w.flush();
    // Every host now fails: the next evaluations all see one change each.
    for (const h of hosts) w.record(app.id, failing(`https://${h}/`, 5));
    await w.stop().catch(() => undefined);
    const refs = hosts.map((host) => ({ appId: app.id, host }));
    // The recorder's own flush evaluated already; put them back to healthy to race from a clean start.
    await db.update(connectivityStatus).set({ status: "healthy", changes: 0 }).where(eq(connectivityStatus.appId, app.id));
    await db.delete(outbox).where(eq(outbox.appId, app.id));
    const [a, b] = await Promise.all([evaluateHosts(db, refs, rules), evaluateHosts(second, refs, rules)]);
    expect(a.length + b.length).toBe(hosts.length);
    const events = await db.select().from(outbox).where(eq(outbox.appId, app.id));
    expect(events).toHaveLength(hosts.length);
    const statuses = await db.select().from(connectivityStatus).where(eq(connectivityStatus.appId, app.id));
    expect(statuses.every((s) => s.status === "down" && s.changes === 1)).toBe(true);
  });
}
