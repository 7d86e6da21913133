import { eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { outbox, scripts, workspaces } from "@switchyard/db";
import { liftEngineBlock } from "../engine-block.ts";
import { describeEachDriver } from "../../../../test/support/databases.ts";
import { createApp, createWorkspace } from "../tenancy.ts";
import { completeMany, type RunRecord } from "./complete.ts";
import { claim, enqueue, type ClaimedEvent } from "./queue.ts";

const SYSTEM = { type: "system" as const, id: "test" };
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

    expect(await completeMany(db(), [{ claim: first, record: crashed("run_crash", 1), failure: { kind: "dead_letter" }, stoppedEngine: true }])).toEqual(["dead_lettered"]);
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
    expect(await completeMany(db(), [{ claim: a, record: crashed("run_lost", 1), failure: { kind: "dead_letter" }, stoppedEngine: true }])).toEqual(["lost"]);
    expect((await db().select().from(scripts).where(eq(scripts.id, scriptId)))[0]).toMatchObject({ crashedVersion: 1, crashedRunId: "run_lost" });

    // Version 2 is current when a late report of version 1's crash arrives: nothing changes.
    await db().update(scripts).set({ version: 2, crashedVersion: null, crashedRunId: null, crashedAt: null }).where(eq(scripts.id, scriptId));
    expect(await completeMany(db(), [{ claim: b, record: crashed("run_late", 1), failure: { kind: "dead_letter" }, stoppedEngine: true }])).toEqual(["dead_lettered"]);
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
      await completeMany(db(), [{ claim: c, record: crashed(`run_${name}`, 1), failure: { kind: "dead_letter" }, stoppedEngine: true }]);
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
});
