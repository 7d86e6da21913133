import { expect, it } from "vitest";
import { connect, runs, type Db } from "@switchyard/db";
import { describeEachDriver } from "../../../../test/support/databases.ts";
import { withAdmin } from "../../../../test/support/postgres-admin.ts";
import { silentLogger } from "../logger.ts";
import type { Run } from "../scripts/runs.ts";
import { createApp } from "../tenancy.ts";
import { createRunFeed, type RunSubscription } from "./feed.ts";
import { cursorAfterRun } from "./finished-runs.ts";

const SYSTEM = { type: "system" as const, id: "test" };

async function recordRun(db: Db, appId: string, id: string): Promise<void> {
  await db.insert(runs).values({
    id, appId, scriptId: "scr_x", scriptVersion: 1, triggerId: null, eventId: `evt_${id}`, eventKind: "manual", attempt: 1,
    status: "ok", finishedAt: new Date(), durationMs: 3, cpuMs: 1, logs: [], result: null, error: null,
  });
}

/** The ids `sub` delivers within `ms` (it may deliver more later). */
async function idsWithin(sub: RunSubscription, ms: number, want: number): Promise<string[]> {
  const seen: string[] = [];
  const deadline = Date.now() + ms;
  while (seen.length < want && Date.now() < deadline) {
    const batch = await Promise.race([sub.next(), new Promise<null>((r) => setTimeout(() => r(null), deadline - Date.now()))]);
    if (!batch) break;
    seen.push(...batch.map((r: Run) => r.id));
  }
  return seen;
}

describeEachDriver("runs feed", (ctx) => {
  const db = () => ctx.database.db;

  it("delivers a run recorded after subscribing within a second, and never another app's", async () => {
    const app = await createApp(db(), SYSTEM, { name: "feed-live" });
    const other = await createApp(db(), SYSTEM, { name: "feed-other" });
    await recordRun(db(), app.id, "run_before_sub");
    const feed = createRunFeed({ db: db(), logger: silentLogger });
    const sub = await feed.subscribe(app.id, null);
    const started = Date.now();
    await recordRun(db(), other.id, "run_other_app");
    await recordRun(db(), app.id, "run_live_1");
    expect(await idsWithin(sub, 1000, 1)).toEqual(["run_live_1"]);
    expect(Date.now() - started).toBeLessThan(1000);
    sub.close();
    expect(await sub.next()).toBeNull();
    expect(feed.size).toBe(0);
    feed.close();
  });

  it("gives each holder at most its share of the streams, and its place back when one closes", async () => {
    const app = await createApp(db(), SYSTEM, { name: "feed-share" });
    const feed = createRunFeed({ db: db(), logger: silentLogger, maxStreams: 10, maxStreamsPerHolder: 2 });
    const mine = [await feed.subscribe(app.id, null, "workspace:a"), await feed.subscribe(app.id, null, "workspace:a")];
    await expect(feed.subscribe(app.id, null, "workspace:a")).rejects.toMatchObject({ code: "overloaded" });
    const theirs = await feed.subscribe(app.id, null, "workspace:b");
    mine[0]!.close();
    mine[0]!.close(); // twice: gives back one place, not two
    const again = await feed.subscribe(app.id, null, "workspace:a");
    await expect(feed.subscribe(app.id, null, "workspace:a")).rejects.toMatchObject({ code: "overloaded" });
    for (const sub of [mine[1]!, theirs, again]) sub.close();
    expect(feed.size).toBe(0);
    feed.close();
  });

  it("replays the runs finished after a Last-Event-ID in order, then goes on live", async () => {
    const app = await createApp(db(), SYSTEM, { name: "feed-resume" });
    for (const id of ["run_r1", "run_r2", "run_r3"]) await recordRun(db(), app.id, id);
    const feed = createRunFeed({ db: db(), logger: silentLogger, pageSize: 1 });
    const sub = await feed.subscribe(app.id, await cursorAfterRun(db(), app.id, "run_r1"));
    expect(await idsWithin(sub, 1000, 2)).toEqual(["run_r2", "run_r3"]);
    await recordRun(db(), app.id, "run_r4");
    expect(await idsWithin(sub, 1000, 1)).toEqual(["run_r4"]);
    await expect(cursorAfterRun(db(), app.id, "run_not_there")).rejects.toMatchObject({ code: "invalid_cursor" });
    feed.close();
    expect(await sub.next()).toBeNull();
  });

  it("refuses a stream past maxStreams with overloaded", async () => {
    const app = await createApp(db(), SYSTEM, { name: "feed-cap" });
    const feed = createRunFeed({ db: db(), logger: silentLogger, maxStreams: 1 });
    const sub = await feed.subscribe(app.id, null);
    await expect(feed.subscribe(app.id, null)).rejects.toMatchObject({ code: "overloaded" });
    sub.close();
    await feed.subscribe(app.id, null);
    feed.close();
  });

  // Two transactions at once need a server: PGlite has one connection.
  // PostgreSQL only, on CI too: PGlite serves one connection, so no other transaction can be open beside a write there.
  if (ctx.driver === "postgres") it("holds a run back until an older transaction commits, then delivers both in order; another database's transactions hold nothing", async () => {
    const app = await createApp(db(), SYSTEM, { name: "feed-late" });
    const second = await connect({ url: ctx.url ?? "", poolSize: 1 });
    const feed = createRunFeed({ db: db(), logger: silentLogger });
    try {
      const sub = await feed.subscribe(app.id, null);
      let commit!: () => void;
      const committed = new Promise<void>((resolve) => (commit = resolve));
      let inserted!: () => void;
      const insertedEarly = new Promise<void>((resolve) => (inserted = resolve));
      // The earlier transaction records its run first and commits last, as a slow worker's batch would.
      const slow = second.db.transaction(async (tx) => {
        await recordRun(tx, app.id, "run_slow_early");
        inserted();
        await committed;
      });
      await insertedEarly;
      await recordRun(db(), app.id, "run_fast_late");
      expect(await idsWithin(sub, 700, 1)).toEqual([]);
      commit();
      await slow;
      expect(await idsWithin(sub, 1000, 2)).toEqual(["run_slow_early", "run_fast_late"]);

      // A write transaction left open in another database of the server.
      let release!: () => void;
      const held = withAdmin((sql) => sql.begin(async (tx) => {
        await tx`select pg_current_xact_id()`;
        await new Promise<void>((resolve) => (release = resolve));
      }));
      await new Promise((r) => setTimeout(r, 100));
      await recordRun(db(), app.id, "run_next_door");
      expect(await idsWithin(sub, 1000, 1)).toEqual(["run_next_door"]);
      release();
      await held;
    } finally {
      feed.close();
      await second.close();
    }
  });
});
