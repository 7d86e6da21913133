import { eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { apps, engineCrashes, outbox, scripts, workspaces } from "@switchyard/db";
import { liftEngineBlock } from "../engine-block.ts";
import { describeEachDriver } from "../../../../test/support/databases.ts";
import { createApp, createWorkspace } from "../tenancy.ts";
import { completeMany, type RunRecord } from "./complete.ts";
import { claim, enqueue, type ClaimedEvent } from "./queue.ts";

const SYSTEM = { type: "system" as const, id: "test" };
/** What the dispatcher adds to the completion of a run that stopped the engine. */
const stopped = (c: ClaimedEvent) => ({ engineStopped: { workspaceId: c.context.workspaceId } });
const crashed = (runId: string, scriptVersion: number): RunRecord => ({
  runId,
  scriptVersion,
  status: "error",
  durationMs: 5,
  cpuMs: 1,
  logs: [],
  logsTruncated: false,
  result: null,
  error: { name: "IsolateCrashedError", message: "the engine gave up", code: "isolate_crashed" },
});

describeEachDriver("script quarantine", (ctx) => {
  const db = () => ctx.database.db;

  async function scriptWithEvents(name: string, events: number, workspaceId?: string) {
    const app = await createApp(db(), SYSTEM, { name, ...(workspaceId ? { workspaceId } : {}) });
    const scriptId = `scr_${name}`;
    await db().insert(scripts).values({ id: scriptId, appId: app.id, name, version: 1, language: "js", source: "", compiled: "", limits: {} });
    const ids = await db().transaction(async (tx) => {
      const out: string[] = [];
      for (let i = 0; i < events; i++) out.push(await enqueue(tx, { appId: app.id, scriptId, kind: "manual", event: { kind: "manual", i }, origin: "test" }));
      return out;
    });
    return { app, scriptId, ids };
  }

  /** Claims until every event in `ids` is held (other suites' rows may come first); answers them in order. */
  const claimAll = async (...ids: string[]): Promise<ClaimedEvent[]> => {
    const held = new Map<string, ClaimedEvent>();
    for (let i = 0; i < 20 && held.size < ids.length; i++) {
      for (const c of await claim(db(), { limit: 100, leaseMs: 60_000 })) if (ids.includes(c.id)) held.set(c.id, c);
    }
    if (held.size < ids.length) throw new Error(`events ${ids.join(", ")} were not all claimed`);
    return ids.map((id) => held.get(id) as ClaimedEvent);
  };
  const claimOne = async (id: string) => (await claimAll(id))[0] as ClaimedEvent;

  it("marks the version whose run stopped the engine, and the claim says so until a new version is deployed", async () => {
    const { scriptId, ids } = await scriptWithEvents("crashy", 3);
    // Only the first event is due: the others wait until the crash is recorded.
    await db().update(outbox).set({ runAt: new Date(Date.now() + 3_600_000) }).where(eq(outbox.scriptId, scriptId));
    await db().update(outbox).set({ runAt: new Date(0) }).where(eq(outbox.id, ids[0]!));
    const first = await claimOne(ids[0]!);
    expect(first.context).toMatchObject({ scriptVersion: 1, quarantined: false });

    expect(await completeMany(db(), [{ claim: first, record: crashed("run_crash", 1), failure: { kind: "dead_letter" }, ...stopped(first) }])).toEqual(["dead_lettered"]);
    const [row] = await db().select().from(scripts).where(eq(scripts.id, scriptId));
    expect(row).toMatchObject({ crashedVersion: 1, crashedRunId: "run_crash" });
    expect(row!.crashedAt).toBeInstanceOf(Date);

    await db().update(outbox).set({ runAt: new Date(0) }).where(eq(outbox.id, ids[1]!));
    expect((await claimOne(ids[1]!)).context).toMatchObject({ scriptVersion: 1, quarantined: true });

    // A new deploy lifts it: the crash belongs to version 1.
    await db().update(scripts).set({ version: 2 }).where(eq(scripts.id, scriptId));
    await db().update(outbox).set({ runAt: new Date(0) }).where(eq(outbox.id, ids[2]!));
    expect((await claimOne(ids[2]!)).context).toMatchObject({ scriptVersion: 2, quarantined: false });
  });

  it("quarantines even when the attempt's lease was lost, and never a version deployed since the crash", async () => {
    const { scriptId, ids } = await scriptWithEvents("lapsed", 2);
    const [a, b] = (await claimAll(ids[0]!, ids[1]!)) as [ClaimedEvent, ClaimedEvent];
    await db().update(outbox).set({ leaseToken: "lease_other" }).where(eq(outbox.id, a.id));
    expect(await completeMany(db(), [{ claim: a, record: crashed("run_lost", 1), failure: { kind: "dead_letter" }, ...stopped(a) }])).toEqual(["lost"]);
    expect((await db().select().from(scripts).where(eq(scripts.id, scriptId)))[0]).toMatchObject({ crashedVersion: 1, crashedRunId: "run_lost" });

    // Version 2 is current when a late report of version 1's crash arrives: nothing changes.
    await db().update(scripts).set({ version: 2, crashedVersion: null, crashedRunId: null, crashedAt: null }).where(eq(scripts.id, scriptId));
    expect(await completeMany(db(), [{ claim: b, record: crashed("run_late", 1), failure: { kind: "dead_letter" }, ...stopped(b) }])).toEqual(["dead_lettered"]);
    expect((await db().select().from(scripts).where(eq(scripts.id, scriptId)))[0]).toMatchObject({ version: 2, crashedVersion: null, crashedRunId: null });
  });

  it("leaves the script alone for every other failure", async () => {
    const { scriptId, ids } = await scriptWithEvents("plain", 1);
    const c = await claimOne(ids[0]!);
    await completeMany(db(), [{ claim: c, record: crashed("run_plain", 1), failure: { kind: "dead_letter" } }]);
    expect((await db().select().from(scripts).where(eq(scripts.id, scriptId)))[0]).toMatchObject({ crashedVersion: null });
  });

  it("blocks a workspace whose scripts stopped the engine three times within a day, whatever apps and scripts did it, until an operator lifts it", async () => {
    const ws = await createWorkspace(db(), SYSTEM, "crashing-tenant");
    const other = await createWorkspace(db(), SYSTEM, "bystander");
    const blocked = async (id: string) => (await db().select().from(workspaces).where(eq(workspaces.id, id)))[0]!.engineBlockedAt !== null;
    const crashOnce = async (name: string) => {
      const { ids } = await scriptWithEvents(name, 1, ws.id);
      const c = await claimOne(ids[0]!);
      await completeMany(db(), [{ claim: c, record: crashed(`run_${name}`, 1), failure: { kind: "dead_letter" }, ...stopped(c) }]);
      return c;
    };
    // Each crash a new app and script: a per-version quarantine alone would never stop this.
    expect((await crashOnce("attempt-1")).context.workspaceBlocked).toBe(false);
    await crashOnce("attempt-2");
    expect(await blocked(ws.id)).toBe(false);
    await crashOnce("attempt-3");
    expect(await blocked(ws.id)).toBe(true);

    // Every event of the workspace now claims as blocked; another workspace's do not.
    const fresh = await scriptWithEvents("innocent", 1, ws.id);
    expect((await claimOne(fresh.ids[0]!)).context).toMatchObject({ workspaceBlocked: true, quarantined: false });
    const elsewhere = await scriptWithEvents("elsewhere", 1, other.id);
    expect((await claimOne(elsewhere.ids[0]!)).context.workspaceBlocked).toBe(false);

    // Lifted, the count starts again: one more crash does not block it.
    expect((await liftEngineBlock(db(), SYSTEM, ws.id)).engineBlockedAt).toBeNull();
    const after = await scriptWithEvents("after-lift", 2, ws.id);
    expect((await claimOne(after.ids[0]!)).context.workspaceBlocked).toBe(false);
    await crashOnce("attempt-4");
    expect(await blocked(ws.id)).toBe(false);
  });

  it("counts one stop of the engine once per script version, also when the app is deleted during the run or the completion is written again", async () => {
    const ws = await createWorkspace(db(), SYSTEM, "counted-once");
    const count = async () => (await db().select().from(engineCrashes).where(eq(engineCrashes.workspaceId, ws.id))).length;
    // Three runs of one version that one stop ended, in one batch, then the same completion once more.
    const { ids } = await scriptWithEvents("three-queued", 3, ws.id);
    const claimed = await claimAll(...ids);
    const completions = claimed.map((c, i) => ({ claim: c, record: crashed(`run_q${i}`, 1), failure: { kind: "dead_letter" as const }, ...stopped(c) }));
    await completeMany(db(), completions);
    await completeMany(db(), [completions[0]!]);
    expect(await count()).toBe(1);

    // The tenant deletes the app while its run is stuck: still counted, against the workspace the claim read.
    const doomed = await scriptWithEvents("deleted-meanwhile", 1, ws.id);
    const c = await claimOne(doomed.ids[0]!);
    await db().delete(apps).where(eq(apps.id, c.appId));
    expect(await completeMany(db(), [{ claim: c, record: crashed("run_doomed", 1), failure: { kind: "dead_letter" }, ...stopped(c) }])).toEqual(["lost"]);
    expect(await count()).toBe(2);
    expect((await db().select().from(workspaces).where(eq(workspaces.id, ws.id)))[0]!.engineBlockedAt).toBeNull();
  });

  it("counts crashes that workers record at the same moment together", async () => {
    const ws = await createWorkspace(db(), SYSTEM, "at-once");
    const claimedIn = async (name: string) => claimOne((await scriptWithEvents(name, 1, ws.id)).ids[0]!);
    const [a, b] = [await claimedIn("once-a"), await claimedIn("once-b")];
    await completeMany(db(), [{ claim: a, record: crashed("run_once_a", 1), failure: { kind: "dead_letter" }, ...stopped(a) }]);
    // Another worker is recording its crash right now: its row is not committed yet
    // (it holds only the key share lock its insert's foreign key takes).
    let commit!: () => void;
    const committing = new Promise<void>((resolve) => (commit = resolve));
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => (locked = resolve));
    const other = db().transaction(async (tx) => {
      await tx.insert(engineCrashes).values({ id: "crash_other_worker", workspaceId: ws.id, appId: a.appId, scriptId: "scr_other_worker", scriptVersion: 1, runId: "run_other" });
      locked();
      await committing;
    });
    await holding;
    const ours = completeMany(db(), [{ claim: b, record: crashed("run_once_b", 1), failure: { kind: "dead_letter" }, ...stopped(b) }]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    commit();
    await Promise.all([other, ours]);
    // Ours waited for the other's commit and counted three; counted alone it would have seen two.
    expect((await db().select().from(workspaces).where(eq(workspaces.id, ws.id)))[0]!.engineBlockedAt).not.toBeNull();
  });

  it("blocks at the operator's limit, and never with a limit of 0", async () => {
    const strict = await createWorkspace(db(), SYSTEM, "strict-limit");
    const lenient = await createWorkspace(db(), SYSTEM, "no-limit");
    const blockedAt = async (id: string) => (await db().select().from(workspaces).where(eq(workspaces.id, id)))[0]!.engineBlockedAt;
    const crashIn = async (workspaceId: string, name: string, limit: number) => {
      const c = await claimOne((await scriptWithEvents(name, 1, workspaceId)).ids[0]!);
      await completeMany(db(), [{ claim: c, record: crashed(`run_${name}`, 1), failure: { kind: "dead_letter" }, ...stopped(c) }], { engineCrashLimit: limit });
    };
    await crashIn(strict.id, "strict-1", 1);
    expect(await blockedAt(strict.id)).not.toBeNull();
    for (const n of [1, 2, 3, 4]) await crashIn(lenient.id, `lenient-${n}`, 0);
    expect(await blockedAt(lenient.id)).toBeNull();
    expect((await db().select().from(engineCrashes).where(eq(engineCrashes.workspaceId, lenient.id))).length).toBe(4);
  });
});
