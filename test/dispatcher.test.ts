import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { claim, complete, enqueue, newId, type Claim } from "@switchyard/core";
import { deadLetters, outbox, resultRows, runs } from "@switchyard/db";
import { describeEachDriver } from "./support/databases.ts";
import { waitFor } from "./support/wait.ts";
import { client, managerFor } from "./support/manager.ts";

describeEachDriver("outbox and dispatcher", (ctx) => {
  let built: Awaited<ReturnType<typeof managerFor>>;
  let appId: string;
  const scriptIds: Record<string, string> = {};
  const db = () => ctx.database.db;

  beforeAll(async () => {
    built = await managerFor(ctx.database, { worker: true });
    const admin = client(built.app, built.adminToken!);
    appId = (await admin.post("/api/v1/admin/apps", { name: "queue" })).json.id;
    const sources: Record<string, string> = {
      ok: "export default (event) => ({ got: event.payload })",
      fails: 'export default () => { throw new Error("always broken"); }',
      fatal: 'export default () => { throw new NonRetryableError("give up"); }',
      later: 'export default () => { throw new RetryAfterError("busy", 60000); }',
    };
    for (const [name, source] of Object.entries(sources)) {
      scriptIds[name] = (await admin.post(`/api/v1/admin/apps/${appId}/scripts`, { name, source })).json.id;
    }
  });
  afterAll(async () => built?.services.stop());

  const runsOf = (eventId: string) => db().select().from(runs).where(eq(runs.eventId, eventId)).orderBy(runs.attempt);
  const deadOf = (eventId: string) => db().select().from(deadLetters).where(eq(deadLetters.eventId, eventId));

  it("enqueues nothing from rolled-back transactions and exactly one event from each committed one", async () => {
    const n = ctx.driver === "postgres" ? 1000 : 300;
    const marker = newId("batch");
    for (let i = 0; i < n; i++) {
      await db()
        .transaction(async (tx) => {
          await enqueue(tx, { appId, scriptId: "scr_none", kind: "manual", event: { kind: "manual", payload: marker }, origin: "test", id: `${marker}_rb_${i}` });
          throw new Error("roll back");
        })
        .catch(() => {});
      await db().transaction((tx) => enqueue(tx, { appId, scriptId: "scr_none", kind: "manual", event: { kind: "manual", payload: marker }, origin: "test", id: `${marker}_ok_${i}` }));
    }
    // One statement, one snapshot: the worker moves rows from the outbox to the dead letters meanwhile.
    const count = async (like: string) =>
      resultRows<{ n: number }>(
        await db().execute(
          sql`select ((select count(*) from outbox where id like ${like}) + (select count(*) from dead_letters where event_id like ${like}))::int as n`,
        ),
      )[0]!.n;
    expect(await count(`${marker}_rb_%`)).toBe(0);
    // Each committed event is either still queued or already dead-lettered (its script does not exist): never twice, never lost.
    expect(await count(`${marker}_ok_%`)).toBe(n);
  }, 120_000);

  it("runs an invoked event once and deletes it from the outbox", async () => {
    const id = await db().transaction((tx) => enqueue(tx, { appId, scriptId: scriptIds.ok!, kind: "manual", event: { kind: "manual", payload: 7 }, origin: "test" }));
    const [run] = await waitFor(async () => {
      const rows = await runsOf(id);
      return rows.length > 0 && rows;
    });
    expect(run).toMatchObject({ status: "ok", attempt: 1, result: { got: 7 } });
    expect(await db().select().from(outbox).where(eq(outbox.id, id))).toEqual([]);
  });

  it("retries a failing run on the backoff schedule, then dead-letters it exactly once", async () => {
    const retry = { max_attempts: 5, backoff: "exponential" as const, base_ms: 40 };
    const id = await db().transaction((tx) => enqueue(tx, { appId, scriptId: scriptIds.fails!, kind: "manual", event: { kind: "manual", payload: null }, origin: "test", retry }));
    const [dead] = await waitFor(async () => {
      const rows = await deadOf(id);
      return rows.length > 0 && rows;
    });
    const attempts = await runsOf(id);
    expect(attempts.map((r) => r.attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(attempts.every((r) => r.status === "error")).toBe(true);
    // Gaps follow 40, 80, 160, 320 ms (±10% jitter), measured between the attempts' ends.
    for (let i = 1; i < attempts.length; i++) {
      const gap = attempts[i]!.finishedAt!.getTime() - attempts[i - 1]!.finishedAt!.getTime();
      expect(gap).toBeGreaterThanOrEqual(40 * 2 ** (i - 1) * 0.9 - 5);
    }
    expect(dead).toMatchObject({ attempts: 5, scriptId: scriptIds.fails, lastError: { message: "always broken" } });
    expect(await deadOf(id)).toHaveLength(1);
    expect(await db().select().from(outbox).where(eq(outbox.id, id))).toEqual([]);
  });

  it("dead-letters a NonRetryableError at once and delays a RetryAfterError as asked", async () => {
    const fatal = await db().transaction((tx) => enqueue(tx, { appId, scriptId: scriptIds.fatal!, kind: "manual", event: { kind: "manual", payload: null }, origin: "test" }));
    await waitFor(async () => (await deadOf(fatal)).length > 0);
    expect((await runsOf(fatal)).map((r) => r.attempt)).toEqual([1]);
    const later = await db().transaction((tx) => enqueue(tx, { appId, scriptId: scriptIds.later!, kind: "manual", event: { kind: "manual", payload: null }, origin: "test" }));
    await waitFor(async () => (await runsOf(later)).length > 0);
    const [row] = await waitFor(async () => {
      const rows = await db().select().from(outbox).where(and(eq(outbox.id, later), sql`${outbox.leaseToken} is null`));
      return rows.length > 0 && rows;
    });
    expect(row!.runAt.getTime() - Date.now()).toBeGreaterThan(50_000);
  });
});

describeEachDriver("outbox fencing", (ctx) => {
  const db = () => ctx.database.db;
  let appId: string;
  beforeAll(async () => {
    const built = await managerFor(ctx.database);
    appId = (await client(built.app, built.adminToken!).post("/api/v1/admin/apps", { name: "fenced" })).json.id;
  });
  const record = (runId: string) => ({ runId, scriptVersion: 1, status: "ok" as const, durationMs: 1, cpuMs: 1, logs: [], logsTruncated: false, result: null, error: null });

  it("lets a completion whose lease was lost change nothing", async () => {
    const id = await db().transaction((tx) => enqueue(tx, { appId, scriptId: "scr_x", kind: "manual", event: { kind: "manual" }, origin: "test" }));
    const [first] = (await claim(db(), { limit: 10, leaseMs: 30 })).filter((c) => c.id === id);
    expect(first).toBeDefined();
    await new Promise((r) => setTimeout(r, 60));
    const [second] = (await claim(db(), { limit: 10, leaseMs: 10_000 })).filter((c) => c.id === id);
    expect(second?.attempts).toBe(2);
    expect(await complete(db(), first as Claim, record(newId("run")), null)).toBe("lost");
    expect(await complete(db(), first as Claim, record(newId("run")), { kind: "dead_letter" })).toBe("lost");
    expect(await db().select().from(runs).where(eq(runs.eventId, id))).toEqual([]);
    expect(await db().select().from(deadLetters).where(eq(deadLetters.eventId, id))).toEqual([]);
    expect(await complete(db(), second as Claim, record(newId("run")), null)).toBe("done");
    expect((await db().select().from(runs).where(eq(runs.eventId, id))).map((r) => r.attempt)).toEqual([2]);
  });

  it("never hands one row to two claimers at once", async () => {
    const ids = await db().transaction(async (tx) => {
      const out: string[] = [];
      for (let i = 0; i < 40; i++) out.push(await enqueue(tx, { appId, scriptId: "scr_x", kind: "manual", event: { kind: "manual" }, origin: "test" }));
      return out;
    });
    const batches = await Promise.all(Array.from({ length: 4 }, () => claim(db(), { limit: 15, leaseMs: 10_000 })));
    const claimed = batches.flat().map((c) => c.id).filter((id) => ids.includes(id));
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed.length).toBe(40);
  });
});
