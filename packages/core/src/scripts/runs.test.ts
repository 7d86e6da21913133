import { eq, sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { connect, resultRows, runs, type Db } from "@switchyard/db";
import { describeEachDriver } from "../../../../test/support/databases.ts";
import { completeMany, type RunRecord } from "../outbox/complete.ts";
import { claim, enqueue, type ClaimedEvent } from "../outbox/queue.ts";
import { createApp, deleteApp } from "../tenancy.ts";

const SYSTEM = { type: "system" as const, id: "test" };

const record = (runId: string, status: RunRecord["status"] = "ok"): RunRecord => ({
  runId,
  scriptVersion: 1,
  status,
  durationMs: 2,
  cpuMs: 1,
  logs: [],
  logsTruncated: false,
  result: null,
  error: status === "ok" ? null : { message: "boom" },
});

/** One event of `appId`, enqueued and claimed: a completion can record its run. */
async function claimOne(db: Db, appId: string): Promise<ClaimedEvent> {
  const id = await db.transaction((tx) => enqueue(tx, { appId, scriptId: "scr_x", kind: "manual", event: { kind: "manual" }, origin: "test" }));
  const claimed = (await claim(db, { limit: 100, leaseMs: 60_000 })).find((c) => c.id === id);
  if (!claimed) throw new Error("the event was not claimed");
  return claimed;
}

const runIdsOf = async (db: Db, appId: string) => (await db.select({ id: runs.id }).from(runs).where(eq(runs.appId, appId))).map((r) => r.id).sort();

describeEachDriver("runs", (ctx) => {
  const db = () => ctx.database.db;

  // runs has no foreign key to apps (migration 0017): the trigger apps_delete_runs does what its cascade did.
  it("an app's deletion deletes its runs, and no other app's", async () => {
    const gone = await createApp(db(), SYSTEM, { name: "runs-gone" });
    const kept = await createApp(db(), SYSTEM, { name: "runs-kept" });
    const first = await claimOne(db(), gone.id);
    const retried = await claimOne(db(), gone.id);
    const other = await claimOne(db(), kept.id);
    expect(
      await completeMany(db(), [
        { claim: first, record: record("run_gone_ok"), failure: null },
        { claim: retried, record: record("run_gone_error", "error"), failure: { kind: "retry", delayMs: 60_000 } },
        { claim: other, record: record("run_kept_ok"), failure: null },
      ]),
    ).toEqual(["done", "retrying", "done"]);
    expect(await runIdsOf(db(), gone.id)).toEqual(["run_gone_error", "run_gone_ok"]);

    await deleteApp(db(), SYSTEM, gone.id);
    expect(await runIdsOf(db(), gone.id)).toEqual([]);
    expect(await runIdsOf(db(), kept.id)).toEqual(["run_kept_ok"]);
  });

  // PostgreSQL only, on CI too: PGlite serves one connection, so a completion cannot be open beside the deletion there.
  if (ctx.driver === "postgres") it("a completion that commits while the app's deletion waits for its outbox row leaves no run of the deleted app", async () => {
    const app = await createApp(db(), SYSTEM, { name: "runs-race" });
    const event = await claimOne(db(), app.id);
    const worker = await connect({ url: ctx.url ?? "", poolSize: 1 });
    try {
      let commit!: () => void;
      const committed = new Promise<void>((resolve) => (commit = resolve));
      let recorded!: () => void;
      const recordedEarly = new Promise<void>((resolve) => (recorded = resolve));
      // The completion has deleted the outbox row and inserted the run, and has not committed yet.
      const completion = worker.db.transaction(async (tx) => {
        expect(await completeMany(tx, [{ claim: event, record: record("run_race"), failure: null }])).toEqual(["done"]);
        recorded();
        await committed;
      });
      await recordedEarly;
      const deletion = deleteApp(db(), SYSTEM, app.id);
      await waitForLockWait(db());
      commit();
      await completion;
      await deletion;
      expect(await runIdsOf(db(), app.id)).toEqual([]);
    } finally {
      await worker.close();
    }
  });
});

/** Until a session of this database waits on a lock (the deletion, on the completion's outbox row). */
async function waitForLockWait(db: Db): Promise<void> {
  const until = Date.now() + 5000;
  for (;;) {
    const rows = resultRows<{ n: number }>(
      await db.execute(sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`),
    );
    if ((rows[0]?.n ?? 0) > 0) return;
    if (Date.now() > until) throw new Error("the deletion never waited for the completion");
    await new Promise((r) => setTimeout(r, 10));
  }
}
