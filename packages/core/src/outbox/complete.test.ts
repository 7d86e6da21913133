import { eq, inArray } from "drizzle-orm";
import { expect, it } from "vitest";
import { deadLetters, outbox, runs } from "@switchyard/db";
import { describeEachDriver } from "../../../../test/support/databases.ts";
import { createApp } from "../tenancy.ts";
import { completeMany, type RunRecord } from "./complete.ts";
import { claim, enqueue, type ClaimedEvent } from "./queue.ts";

const SYSTEM = { type: "system" as const, id: "test" };
const record = (runId: string): RunRecord => ({
  runId,
  scriptVersion: 1,
  status: "ok",
  startedAt: new Date(Date.now() - 5),
  finishedAt: new Date(),
  durationMs: 5,
  cpuMs: 1,
  logs: [{ level: "log", message: "hi", at: 1 }],
  logsTruncated: false,
  result: { n: 1 },
  error: null,
});

describeEachDriver("batched completion", (ctx) => {
  const db = () => ctx.database.db;

  async function claimThree(name: string) {
    const app = await createApp(db(), SYSTEM, { name });
    const ids = await db().transaction(async (tx) => {
      const out: string[] = [];
      for (let i = 0; i < 3; i++) out.push(await enqueue(tx, { appId: app.id, scriptId: "scr_gone", kind: "manual", event: { kind: "manual", i }, origin: "test" }));
      return out;
    });
    const claimed = (await claim(db(), { limit: 100, leaseMs: 60_000 })).filter((c) => ids.includes(c.id));
    expect(claimed).toHaveLength(3);
    const [a, b, c] = ids.map((id) => claimed.find((x) => x.id === id)!) as [ClaimedEvent, ClaimedEvent, ClaimedEvent];
    return { app, claimed: [a, b, c] as const };
  }

  it("claims with the run's context: the app's name, and no script version or trigger when those rows are gone", async () => {
    const { app, claimed } = await claimThree("ctx");
    expect(claimed[0]).toMatchObject({ attempts: 1, appId: app.id, context: { appName: "ctx", scriptVersion: null, trigger: null } });
    expect(claimed[0]!.leaseUntil!.getTime()).toBeGreaterThan(Date.now());
  });

  it("writes a batch together and drops only the completion whose lease was lost, with its run row", async () => {
    const { claimed } = await claimThree("batch");
    const [a, b, c] = claimed;
    // Another worker took c over after its lease lapsed.
    await db().update(outbox).set({ leaseToken: "lease_other" }).where(eq(outbox.id, c.id));
    const results = await completeMany(db(), [
      { claim: a, record: record("run_a"), failure: null },
      { claim: b, record: { ...record("run_b"), status: "error", error: { message: "boom" } }, failure: { kind: "retry", delayMs: 60_000 } },
      { claim: c, record: record("run_c"), failure: null },
    ]);
    expect(results).toEqual(["done", "retrying", "lost"]);
    const left = await db().select().from(outbox).where(inArray(outbox.id, [a.id, b.id, c.id]));
    expect(left.map((r) => r.id).sort()).toEqual([b.id, c.id].sort());
    const retried = left.find((r) => r.id === b.id)!;
    expect(retried).toMatchObject({ leaseToken: null, leaseUntil: null, lastError: { message: "boom" } });
    expect(retried.runAt.getTime() - Date.now()).toBeGreaterThan(50_000);
    expect(left.find((r) => r.id === c.id)).toMatchObject({ leaseToken: "lease_other" });
    const written = await db().select().from(runs).where(inArray(runs.eventId, [a.id, b.id, c.id]));
    expect(written.map((r) => r.id).sort()).toEqual(["run_a", "run_b"]);
    expect(written.find((r) => r.id === "run_a")).toMatchObject({ status: "ok", attempt: 1, result: { n: 1 }, error: null, logs: [{ level: "log", message: "hi", at: 1 }] });
  });

  it("fences by lease token, not only by event: of two completions of one event in a batch, only the current claim's counts", async () => {
    const { claimed } = await claimThree("same-event");
    const [a] = claimed;
    // The stale attempt holds an old token; the row was re-claimed with a new one.
    await db().update(outbox).set({ leaseToken: "lease_new" }).where(eq(outbox.id, a.id));
    const results = await completeMany(db(), [
      { claim: a, record: record("run_stale"), failure: null },
      { claim: { ...a, leaseToken: "lease_new", attempts: 2 }, record: record("run_current"), failure: null },
    ]);
    expect(results).toEqual(["lost", "done"]);
    const written = await db().select().from(runs).where(eq(runs.eventId, a.id));
    expect(written.map((r) => r.id)).toEqual(["run_current"]);
  });

  it("dead-letters inside the same transaction as the rest of the batch, fenced per row", async () => {
    const { claimed } = await claimThree("letters");
    const [a, b, c] = claimed;
    await db().update(outbox).set({ leaseToken: "lease_other" }).where(eq(outbox.id, c.id));
    const results = await completeMany(db(), [
      { claim: a, record: record("run_la"), failure: null },
      { claim: b, record: null, failure: { kind: "dead_letter" } },
      { claim: c, record: record("run_lc"), failure: { kind: "dead_letter" } },
    ]);
    expect(results).toEqual(["done", "dead_lettered", "lost"]);
    expect((await db().select().from(deadLetters).where(inArray(deadLetters.eventId, [a.id, b.id, c.id]))).map((d) => d.eventId)).toEqual([b.id]);
    // An attempt that never ran leaves no run row; a lost one neither.
    expect((await db().select().from(runs).where(inArray(runs.eventId, [a.id, b.id, c.id]))).map((r) => r.id)).toEqual(["run_la"]);
  });

  it("records a run whose result holds U+0000 as a result_not_storable error, retried per policy, without taking its batch-mates down", async () => {
    const { claimed } = await claimThree("unstorable");
    const [a, b, c] = claimed;
    const results = await completeMany(db(), [
      { claim: a, record: record("run_ua"), failure: null },
      { claim: b, record: { ...record("run_ub"), result: { text: "x\u0000y" }, logs: [{ level: "log", message: "nul \u0000 and \uD800 here", at: 2 }] }, failure: null },
      { claim: c, record: { ...record("run_uc"), status: "error", error: { name: "Error", message: "thrown \u0000", stack: null, code: null, retry: { kind: "retry" } } }, failure: { kind: "retry", delayMs: 60_000 } },
    ]);
    expect(results).toEqual(["done", "retrying", "retrying"]);
    const written = await db().select().from(runs).where(inArray(runs.eventId, [a.id, b.id, c.id]));
    expect(written.find((r) => r.id === "run_ua")).toMatchObject({ status: "ok", result: { n: 1 } });
    const bad = written.find((r) => r.id === "run_ub")!;
    expect(bad).toMatchObject({ status: "error", result: null, error: { code: "result_not_storable" } });
    expect((bad.error as { message: string }).message).toMatch(/U\+0000.*at text/);
    // Log lines keep U+0000 as six visible characters and a lone surrogate as U+FFFD.
    expect(bad.logs).toEqual([{ level: "log", message: "nul \\u0000 and \uFFFD here", at: 2 }]);
    expect(written.find((r) => r.id === "run_uc")).toMatchObject({ status: "error", error: { message: "thrown \\u0000" } });
    const retried = await db().select().from(outbox).where(eq(outbox.id, b.id));
    expect(retried[0]).toMatchObject({ leaseToken: null, lastError: { code: "result_not_storable" } });
  });

  it("dead-letters an unstorable result on the last attempt with its error as last_error", async () => {
    const { claimed } = await claimThree("unstorable-last");
    const [a] = claimed;
    const last = { ...a, attempts: a.retry.max_attempts };
    const deep: unknown = Array.from({ length: 150 }).reduce<unknown>((inner) => [inner], 1);
    expect(await completeMany(db(), [{ claim: last, record: { ...record("run_deep"), result: deep }, failure: null }])).toEqual(["dead_lettered"]);
    const [letter] = await db().select().from(deadLetters).where(eq(deadLetters.eventId, a.id));
    expect(letter?.lastError).toMatchObject({ code: "result_not_storable" });
    expect((letter?.lastError as { message: string }).message).toMatch(/deeper than 100/);
    expect(await db().select().from(runs).where(eq(runs.eventId, a.id))).toMatchObject([{ id: "run_deep", status: "error", result: null }]);
  });
});
