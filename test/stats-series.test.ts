import { beforeAll, expect, it } from "vitest";
import { createApp, createInboundTally, createQueueSampler, createStatsService, createWorkspace, silentLogger, type Principal } from "@switchyard/core";
import { deadLetters, emailMessages, outbox, queueSamples, runs } from "@switchyard/db";
import { describeEachDriver } from "./support/databases.ts";

// The stats series from rows written at known moments: which bucket each
// lands in, the percentiles, the queue samples' gaps and maxima, and who
// sees what. The same figures on PGlite and PostgreSQL.

const system: Principal = { type: "system", id: "test" };
// 10:30:20 UTC: the hour's buckets run from 09:31 to the minute of 10:30; the day's from 10:45 yesterday to 10:30 today.
const NOW = new Date("2030-05-01T10:30:20Z");
const at = (hhmmss: string) => new Date(`2030-05-01T${hhmmss}Z`);
const token = (workspaceId: string | null): Principal => ({ type: "token", id: "tok_x", scopes: new Set(["runs:read"]), workspaceId });

describeEachDriver("the stats series", (ctx) => {
  let appA: string;
  let appB: string;
  let workspaceB: string;
  const stats = () => createStatsService({ db: ctx.database.db, now: () => NOW });

  beforeAll(async () => {
    const db = ctx.database.db;
    appA = (await createApp(db, system, { name: "alpha" })).id;
    workspaceB = (await createWorkspace(db, system, "other")).id;
    appB = (await createApp(db, system, { name: "beta", workspaceId: workspaceB })).id;
    let n = 0;
    const run = (appId: string, startedAt: Date, status: "ok" | "error" | "timeout" | "oom" | "running", durationMs: number | null) => ({
      id: `run_${n++}`,
      appId,
      scriptId: "scr_x",
      scriptVersion: 1,
      eventId: `evt_${n}`,
      eventKind: "manual",
      attempt: 1,
      status,
      startedAt,
      durationMs,
    });
    await db.insert(runs).values([
      // The minute of 10:29: durations 10..100 ms, one failure and one timeout.
      ...[10, 20, 30, 40, 50, 60, 70, 80, 90].map((d) => run(appA, at("10:29:05"), "ok", d)),
      run(appA, at("10:29:59"), "error", 100),
      run(appA, at("10:30:00"), "timeout", 5000),
      run(appA, at("10:30:01"), "running", null),
      // Older than the hour, inside the day (the 15-minute bucket of 09:15).
      run(appA, at("09:20:00"), "oom", 7),
      // Older than the day: in no window.
      run(appA, new Date("2030-04-30T10:00:00Z"), "ok", 1),
      run(appB, at("10:29:30"), "ok", 3),
    ]);
    const dead = (id: string, appId: string, createdAt: Date) => ({ id, appId, eventId: id, scriptId: "scr_x", kind: "manual", event: {}, retry: { max_attempts: 1, backoff: "fixed" as const, base_ms: 1 }, attempts: 1, depth: 0, createdAt });
    await db.insert(deadLetters).values([dead("dl_1", appA, at("10:10:00")), dead("dl_2", appA, at("10:10:30")), dead("dl_3", appB, at("10:10:00"))]);
    const mail = (id: string, appId: string, status: "sent" | "captured" | "failed", createdAt: Date) => ({ id, appId, status, fromAddress: "a@x.test", to: ["b@x.test"], cc: [], bcc: [], subject: "s", accepted: [], rejected: [], size: 1, createdAt });
    await db.insert(emailMessages).values([mail("em_1", appA, "sent", at("10:00:10")), mail("em_2", appA, "failed", at("10:00:50")), mail("em_3", appA, "captured", at("10:01:00")), mail("em_4", appB, "sent", at("10:00:00"))]);

    // Inbound through the tally: two flushes add up; an unknown trigger's refusal has no app.
    let clock = at("10:20:10").getTime();
    const tally = createInboundTally({ db, logger: silentLogger, now: () => clock });
    tally.record(appA, "email", true);
    tally.record(appA, "email", false);
    tally.record(appA, "http", true);
    await tally.flush();
    tally.record(appA, "http", true);
    tally.record(appB, "http", false);
    tally.record(null, "http", false);
    tally.record(null, "http", false);
    clock = at("10:21:00").getTime();
    tally.record(appA, "email", false);
    await tally.stop();
  });

  it("puts each finished attempt in its minute with the minute's p50 and p95, and leaves running ones and older ones out", async () => {
    const s = await stats().forApp(token(null), appA, "1h");
    expect(s).toMatchObject({ app_id: appA, workspace_id: null, window: "1h", bucket_seconds: 60, from: "2030-05-01T09:31:00.000Z", to: NOW.toISOString() });
    expect(s.buckets).toHaveLength(60);
    expect(s.buckets[58]).toBe("2030-05-01T10:29:00.000Z");
    expect(s.buckets[59]).toBe("2030-05-01T10:30:00.000Z");
    expect([s.runs.ok[58], s.runs.error[58], s.runs.timeout[58], s.runs.oom[58]]).toEqual([9, 1, 0, 0]);
    expect([s.runs.ok[59], s.runs.timeout[59]]).toEqual([0, 1]);
    expect(s.runs.ok.reduce((a, b) => a + b, 0)).toBe(9);
    // 10..100 ms: the median 55, p95 95.5 (interpolated, as percentile_cont does).
    expect(s.duration_ms.p50[58]).toBe(55);
    expect(s.duration_ms.p95[58]).toBe(95.5);
    expect(s.duration_ms.p50[59]).toBe(5000);
    expect(s.duration_ms.p50[0]).toBeNull();
    // Over the whole window: 10..100 and 5000.
    expect(s.totals).toMatchObject({ runs: 11, failed_runs: 2, p50_ms: 60, p95_ms: 2550 });
  });

  it("gives the day in 96 quarter-hours, counting what the hour does not reach", async () => {
    const s = await stats().forApp(token(null), appA, "24h");
    expect(s).toMatchObject({ window: "24h", bucket_seconds: 900, from: "2030-04-30T10:45:00.000Z" });
    expect(s.buckets).toHaveLength(96);
    expect(s.buckets[95]).toBe("2030-05-01T10:30:00.000Z");
    // 09:20 is in the quarter of 09:15, five before the last.
    expect(s.buckets[90]).toBe("2030-05-01T09:15:00.000Z");
    expect(s.runs.oom[90]).toBe(1);
    // 10:29 and 10:30 fall in 10:15 and 10:30.
    expect([s.runs.ok[94], s.runs.error[94], s.runs.timeout[95]]).toEqual([9, 1, 1]);
    expect(s.totals.runs).toBe(12);
    expect(s.dead_letters[94]).toBe(0);
    expect(s.dead_letters[93]).toBe(2);
  });

  it("counts dead letters, mail by outcome and inbound requests by channel in their minutes", async () => {
    const s = await stats().forApp(token(null), appA, "1h");
    const i = (hhmm: string) => s.buckets.indexOf(`2030-05-01T${hhmm}:00.000Z`);
    expect(s.dead_letters[i("10:10")]).toBe(2);
    expect(s.totals.dead_letters).toBe(2);
    expect([s.mail.sent[i("10:00")], s.mail.failed[i("10:00")], s.mail.captured[i("10:01")]]).toEqual([1, 1, 1]);
    expect(s.totals).toMatchObject({ mail_sent: 2, mail_failed: 1 });
    expect(s.inbound.email.accepted[i("10:20")]).toBe(1);
    expect(s.inbound.email.refused[i("10:20")]).toBe(1);
    expect(s.inbound.email.refused[i("10:21")]).toBe(1);
    expect(s.inbound.http.accepted[i("10:20")]).toBe(2);
    expect(s.totals).toMatchObject({ inbound_accepted: 3, inbound_refused: 2 });
  });

  it("shows the whole instance to an unlimited token, refusals that named no trigger included, and a workspace token only its workspace", async () => {
    const all = await stats().forInstance(token(null), "1h");
    expect(all).toMatchObject({ app_id: null, workspace_id: null });
    expect(all.runs.ok[58]).toBe(10);
    expect(all.dead_letters[all.buckets.indexOf("2030-05-01T10:10:00.000Z")]).toBe(3);
    expect(all.totals).toMatchObject({ mail_sent: 3, inbound_refused: 5 });
    const mine = await stats().forInstance(token(workspaceB), "1h");
    expect(mine).toMatchObject({ app_id: null, workspace_id: workspaceB });
    expect(mine.totals).toMatchObject({ runs: 1, dead_letters: 1, mail_sent: 1, inbound_accepted: 0, inbound_refused: 1 });
    await expect(stats().forApp(token(workspaceB), appA, "1h")).rejects.toMatchObject({ code: "not_found" });
    const blind: Principal = { type: "token", id: "tok_y", scopes: new Set(["scripts:read"]), workspaceId: null };
    await expect(stats().forInstance(blind, "1h")).rejects.toMatchObject({ code: "forbidden" });
  });

  it("samples the queue per app and for the instance, keeps each minute's highest figures, and leaves unsampled minutes empty", async () => {
    const db = ctx.database.db;
    const event = (id: string, appId: string, runAt: Date, leaseUntil: Date | null) => ({ id, appId, scriptId: "scr_x", kind: "manual", event: {}, retry: { max_attempts: 3, backoff: "fixed" as const, base_ms: 1 }, runAt, leaseUntil, leaseToken: leaseUntil ? "t" : null, origin: "test" });
    const past = new Date(Date.now() - 90_000);
    await db.insert(outbox).values([
      event("evt_q1", appA, past, null),
      event("evt_q2", appA, new Date(Date.now() - 1000), null),
      event("evt_q3", appA, new Date(Date.now() + 3_600_000), null),
      event("evt_q4", appB, past, new Date(Date.now() + 60_000)),
    ]);
    const sampler = createQueueSampler({ db, logger: silentLogger, intervalMs: 10 });
    await sampler.sample();
    const minute = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    const rows = await db.select().from(queueSamples);
    const of = (appId: string | null) => rows.find((r) => r.appId === appId && r.minute.getTime() === minute.getTime());
    expect(of(appA)).toMatchObject({ depth: 3, due: 2, running: 0 });
    expect(of(appA)?.oldestDueMs).toBeGreaterThanOrEqual(90_000);
    expect(of(appB)).toMatchObject({ depth: 1, due: 0, running: 1, oldestDueMs: null });
    expect(of(null)).toMatchObject({ depth: 4, due: 2, running: 1 });
    // A later sample with less waiting keeps the minute's highest figures.
    await db.delete(outbox);
    await new Promise((r) => setTimeout(r, 20));
    await sampler.sample();
    await sampler.stop();
    expect(await db.select().from(queueSamples).then((r) => r.find((x) => x.appId === null && x.minute.getTime() === minute.getTime()))).toMatchObject({ depth: 4, due: 2 });

    // Series at a known moment: samples written directly.
    const sample = (appId: string | null, m: string, depth: number, oldestDueMs: number | null) => ({ appId, minute: at(m), depth, due: depth, running: 0, oldestDueMs, sampledAt: at(m) });
    await db.insert(queueSamples).values([sample(null, "10:05:00", 7, 4000), sample(appA, "10:05:00", 5, 4000), sample(appB, "10:05:00", 2, 1500), sample(null, "10:06:00", 0, null)]);
    const s = await stats().forApp(token(null), appA, "1h");
    const i = (hhmm: string) => s.buckets.indexOf(`2030-05-01T${hhmm}:00.000Z`);
    expect([s.queue.depth[i("10:05")], s.queue.oldest_due_seconds[i("10:05")]]).toEqual([5, 4]);
    // Sampled with nothing of this app waiting: 0; never sampled: null.
    expect([s.queue.depth[i("10:06")], s.queue.oldest_due_seconds[i("10:06")]]).toEqual([0, null]);
    expect(s.queue.depth[i("10:07")]).toBeNull();
    const all = await stats().forInstance(token(null), "1h");
    expect(all.queue.depth[i("10:05")]).toBe(7);
    const workspace = await stats().forInstance(token(workspaceB), "1h");
    expect([workspace.queue.depth[i("10:05")], workspace.queue.oldest_due_seconds[i("10:05")]]).toEqual([2, 1.5]);
    // The day's quarter of 10:00 holds the highest of its minutes.
    const day = await stats().forApp(token(null), appA, "24h");
    expect(day.queue.depth[day.buckets.indexOf("2030-05-01T10:00:00.000Z")]).toBe(5);
  });
});
