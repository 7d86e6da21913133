import { eq, sql } from "drizzle-orm";
import { beforeEach, expect, it } from "vitest";
import { claim, claimRound, concurrencyCapsSet, enqueue, newId, type ClaimedEvent, type ResumedTurn } from "@switchyard/core";
import { apps, outbox, workspaces } from "@switchyard/db";
import { describeEachDriver } from "./support/databases.ts";

const LEASE = 60_000;

describeEachDriver("fair claims", (ctx) => {
  const db = () => ctx.database.db;

  beforeEach(async () => {
    // Each test sees only its own rows.
    await db().delete(outbox);
  });

  async function workspace(concurrency: number | null = null): Promise<string> {
    const id = newId("ws");
    await db().insert(workspaces).values({ id, name: id, concurrency });
    return id;
  }

  async function app(options: { workspaceId?: string; concurrency?: number | null; id?: string } = {}): Promise<string> {
    const id = options.id ?? newId("app");
    await db()
      .insert(apps)
      .values({ id, name: id, workspaceId: options.workspaceId ?? (await workspace()), concurrency: options.concurrency ?? null });
    return id;
  }

  /** `count` due events of `appId`, each `ageMs` older than the one before, the first `olderByMs` in the past. */
  async function events(appId: string, count: number, olderByMs = 0): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const id = newId("evt");
      await db().transaction((tx) => enqueue(tx, { id, appId, scriptId: "scr_x", kind: "manual", event: { kind: "manual" }, origin: "test" }));
      await db()
        .update(outbox)
        .set({ runAt: sql`now() - ${olderByMs + (count - i)} * interval '1 millisecond'` })
        .where(eq(outbox.id, id));
      ids.push(id);
    }
    return ids;
  }

  /** Opens the pool's connections first, so the claims that follow really run at once (PGlite has one). */
  const openConnections = () => Promise.all(Array.from({ length: 4 }, () => db().execute(sql`select pg_sleep(0.05)`)));

  const appsOf = (claimed: ClaimedEvent[]) => claimed.map((c) => c.appId);
  const countBy = (claimed: ClaimedEvent[]) => claimed.reduce((m, c) => m.set(c.appId, (m.get(c.appId) ?? 0) + 1), new Map<string, number>());

  it("takes a light app's one event ahead of a heavy app's older backlog", async () => {
    const heavy = await app({ id: "app_a_heavy" });
    const light = await app({ id: "app_b_light" });
    await events(heavy, 100, 60_000);
    const [lone] = await events(light, 1);
    const claimed = await claim(db(), { limit: 8, leaseMs: LEASE, quantum: 4 });
    expect(claimed.map((c) => c.id)).toContain(lone);
    // The heavy app's first turn, the light app's, then the heavy app again for the room left.
    expect(countBy(claimed)).toEqual(new Map([[heavy, 7], [light, 1]]));
  });

  it("lets a lone app fill the whole claim, oldest first", async () => {
    const only = await app();
    const ids = await events(only, 50);
    const claimed = await claim(db(), { limit: 30, leaseMs: LEASE, quantum: 4 });
    expect(claimed.map((c) => c.id)).toEqual(ids.slice(0, 30));
  });

  it("takes a lone uncapped app's rows on the fast path, answering as the rotation would", async () => {
    const only = await app({ id: "app_m_only" });
    const ids = await events(only, 20);
    const first = await claimRound(db(), { limit: 12, leaseMs: LEASE, quantum: 4 });
    expect(first.fastPath).toBe(true);
    expect(first.events.map((c) => c.id)).toEqual(ids.slice(0, 12));
    expect(first.after).toBe(only);
    // Preferred: its turn does not move the rotation on.
    const preferred = await claimRound(db(), { limit: 5, leaseMs: LEASE, after: "app_z", prefer: [only] });
    expect(preferred).toMatchObject({ fastPath: true, after: "app_z" });
    expect(preferred.events.map((c) => c.id)).toEqual(ids.slice(12, 17));
    // Before the cursor: the rotation's second lap, which ends on it.
    const wrapped = await claimRound(db(), { limit: 2, leaseMs: LEASE, after: "app_z" });
    expect(wrapped).toMatchObject({ fastPath: true, after: only });
    expect(wrapped.events.map((c) => c.id)).toEqual(ids.slice(17, 19));
    expect((await claimRound(db(), { limit: 5, leaseMs: LEASE, exclude: [only] })).events).toEqual([]);
    // A cap, or a second app, takes the rotation.
    const capped = await claimRound(db(), { limit: 5, leaseMs: LEASE, appConcurrency: 100 });
    expect(capped).toMatchObject({ fastPath: false });
    expect(capped.events.map((c) => c.id)).toEqual(ids.slice(19));
    const other = await app({ id: "app_n_other" });
    await events(other, 1);
    await events(only, 1);
    const two = await claimRound(db(), { limit: 5, leaseMs: LEASE });
    expect(two.fastPath).toBe(false);
    expect(countBy(two.events)).toEqual(new Map([[only, 1], [other, 1]]));
  });

  it("shares the room of one claim round by round when few apps have work", async () => {
    const a = await app({ id: "app_r1" });
    const b = await app({ id: "app_r2" });
    await events(a, 40);
    await events(b, 3);
    const claimed = await claim(db(), { limit: 20, leaseMs: LEASE, quantum: 2 });
    expect(countBy(claimed)).toEqual(new Map([[a, 17], [b, 3]]));
    // Each app's rows come together, so one isolate serves them in a row.
    expect(appsOf(claimed)).toEqual([...Array(17).fill(a), ...Array(3).fill(b)]);
  });

  it("walks the apps as a rotation that continues after the last claim's app and wraps around", async () => {
    const ids = ["app_w1", "app_w2", "app_w3"];
    for (const id of ids) await events(await app({ id }), 10);
    const order: string[] = [];
    let after = "";
    for (let round = 0; round < 6; round++) {
      const claimed = await claim(db(), { limit: 2, leaseMs: LEASE, quantum: 2, after });
      expect(new Set(appsOf(claimed)).size).toBe(1);
      order.push(claimed[0]!.appId);
      after = claimed.at(-1)!.appId;
    }
    expect(order).toEqual([...ids, ...ids]);
  });

  it("continues a turn the claim's limit cut short, for what is left of its quantum and no more", async () => {
    const first = await app({ id: "app_c1" });
    const second = await app({ id: "app_c2" });
    await events(first, 20);
    await events(second, 20);
    const order: string[] = [];
    let next: { after: string; resume: ResumedTurn | null } = { after: "", resume: null };
    for (let i = 0; i < 6; i++) {
      const round = await claimRound(db(), { limit: 3, leaseMs: LEASE, quantum: 8, ...next });
      order.push(...appsOf(round.events));
      next = { after: round.after, resume: round.resume };
    }
    // Whole turns of 8 (one cold isolate each), not 3 at a time, and the rotation still goes round.
    expect(order).toEqual([...Array(8).fill(first), ...Array(8).fill(second), ...Array(2).fill(first)]);
    expect(next.resume).toEqual({ appId: first, taken: 2 });
  });

  it("counts a resumed turn's rows when another app's new row comes first, and drops a turn the quantum no longer leaves room in", async () => {
    const resumed = await app({ id: "app_d1" });
    const later = await app({ id: "app_d9" });
    await events(resumed, 20);
    // Two apps with due rows: the rotation, not the lone app's fast path.
    await events(later, 1);
    const first = await claimRound(db(), { limit: 3, leaseMs: LEASE, quantum: 8 });
    expect(first.resume).toEqual({ appId: resumed, taken: 3 });
    // An app before it in the rotation gets a row meanwhile: its turn comes first, then the resumed one goes on.
    const before = await app({ id: "app_d0" });
    await events(before, 1);
    const second = await claimRound(db(), { limit: 3, leaseMs: LEASE, quantum: 8, after: first.after, resume: first.resume });
    expect(appsOf(second.events)).toEqual([before, resumed, resumed]);
    expect(second.resume).toEqual({ appId: resumed, taken: 5 });
    const third = await claimRound(db(), { limit: 3, leaseMs: LEASE, quantum: 8, after: second.after, resume: second.resume });
    expect(appsOf(third.events)).toEqual([resumed, resumed, resumed]);
    expect(third.resume).toBeNull();
    // A quantum that shrank to what the turn already had: a turn of its own, not nothing.
    const shrunk = await claimRound(db(), { limit: 3, leaseMs: LEASE, quantum: 2, after: "", resume: { appId: resumed, taken: 5 } });
    expect(appsOf(shrunk.events)).toEqual([resumed, resumed, later]);
  });

  it("lets a resumed turn of a capped app take further rounds up to its cap", async () => {
    const capped = await app({ id: "app_e1", concurrency: 10 });
    await events(capped, 20);
    const first = await claimRound(db(), { limit: 2, leaseMs: LEASE, quantum: 4 });
    expect(first.resume).toEqual({ appId: capped, taken: 2 });
    const second = await claimRound(db(), { limit: 20, leaseMs: LEASE, quantum: 4, after: first.after, resume: first.resume });
    // The cap leaves 8 (10 less the 2 held): the rest of its turn, then further rounds.
    expect(second.events).toHaveLength(8);
  });

  it("gives apps the worker holds warm the first turns, for at most half the claim", async () => {
    const warm = await app({ id: "app_p9" });
    const cold = await app({ id: "app_p1" });
    const idle = await app({ id: "app_p5" });
    await events(warm, 20);
    await events(cold, 20);
    const claimed = await claim(db(), { limit: 8, leaseMs: LEASE, quantum: 8, prefer: [warm, idle] });
    expect(appsOf(claimed)).toEqual([...Array(4).fill(warm), ...Array(4).fill(cold)]);
    // With room to spare the warm app also takes further rounds like any other.
    const rest = await claim(db(), { limit: 40, leaseMs: LEASE, quantum: 8, prefer: [warm] });
    expect(countBy(rest)).toEqual(new Map([[warm, 16], [cold, 16]]));
  });

  it("keeps the rotation going round every app when every app is preferred", async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `app_all${String(i).padStart(2, "0")}`);
    for (const id of ids) await events(await app({ id }), 100);
    let after = "";
    const all: ClaimedEvent[] = [];
    for (let i = 0; i < 5; i++) {
      const round = await claimRound(db(), { limit: 32, leaseMs: LEASE, quantum: 8, after, prefer: ids });
      all.push(...round.events);
      after = round.after;
    }
    expect(countBy(all)).toEqual(new Map(ids.map((id) => [id, 16])));
  });

  it("tells whether any app or workspace has a cap of its own (claims then take the fleet's lock)", async () => {
    await db().update(apps).set({ concurrency: null });
    await db().update(workspaces).set({ concurrency: null });
    expect(await concurrencyCapsSet(db())).toBe(false);
    const capped = await app({ concurrency: 2 });
    expect(await concurrencyCapsSet(db())).toBe(true);
    await db().update(apps).set({ concurrency: null }).where(eq(apps.id, capped));
    await workspace(7);
    expect(await concurrencyCapsSet(db())).toBe(true);
    await db().update(workspaces).set({ concurrency: null });
    expect(await concurrencyCapsSet(db())).toBe(false);
    // Unserialised, a claim still takes each row once.
    await events(await app(), 6);
    const batches = await Promise.all([1, 2, 3].map(() => claim(db(), { limit: 4, leaseMs: LEASE, serialize: false })));
    const ids = batches.flat().map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(6);
  });

  it("takes nothing of an excluded app", async () => {
    const busy = await app();
    const other = await app();
    await events(busy, 5);
    await events(other, 5);
    const claimed = await claim(db(), { limit: 10, leaseMs: LEASE, exclude: [busy] });
    expect(countBy(claimed)).toEqual(new Map([[other, 5]]));
  });

  it("holds an app to its cap across claims, its own setting over the operator's, until rows are let go", async () => {
    const capped = await app();
    const own = await app({ concurrency: 1 });
    await events(capped, 10);
    await events(own, 10);
    const first = await claim(db(), { limit: 20, leaseMs: LEASE, appConcurrency: 3 });
    expect(countBy(first)).toEqual(new Map([[capped, 3], [own, 1]]));
    expect(await claim(db(), { limit: 20, leaseMs: LEASE, appConcurrency: 3 })).toEqual([]);
    // A finished event leaves the outbox; a lapsed lease no longer counts.
    await db().delete(outbox).where(eq(outbox.id, first.find((c) => c.appId === capped)!.id));
    await db().update(outbox).set({ leaseUntil: sql`now() - interval '1 second'` }).where(eq(outbox.id, first.find((c) => c.appId === own)!.id));
    const third = await claim(db(), { limit: 20, leaseMs: LEASE, appConcurrency: 3 });
    expect(countBy(third)).toEqual(new Map([[capped, 1], [own, 1]]));
  });

  it("holds the apps of one workspace to the workspace's cap together", async () => {
    const shared = await workspace(4);
    const first = await app({ workspaceId: shared, id: "app_s1" });
    const second = await app({ workspaceId: shared, id: "app_s2" });
    const elsewhere = await app();
    for (const id of [first, second, elsewhere]) await events(id, 10);
    const claimed = await claim(db(), { limit: 30, leaseMs: LEASE, quantum: 2 });
    const counts = countBy(claimed);
    expect((counts.get(first) ?? 0) + (counts.get(second) ?? 0)).toBe(4);
    expect(counts.get(elsewhere)).toBe(10);
    expect(countBy(await claim(db(), { limit: 30, leaseMs: LEASE, workspaceConcurrency: 100 })).get(first)).toBeUndefined();
  });

  it("never lets claimers running at once take more than an app's cap, nor one row twice", async () => {
    const capped = await app();
    const free = await app();
    await events(capped, 40);
    await events(free, 40);
    await openConnections();
    const batches = await Promise.all(Array.from({ length: 6 }, () => claim(db(), { limit: 12, leaseMs: LEASE, quantum: 3, appConcurrency: 5 })));
    const all = batches.flat();
    expect(new Set(all.map((c) => c.id)).size).toBe(all.length);
    expect(countBy(all).get(capped)).toBe(5);
  });

  it("never lets claimers running at once take more than a workspace's cap between its apps", async () => {
    const shared = await workspace(5);
    const first = await app({ workspaceId: shared });
    const second = await app({ workspaceId: shared });
    await events(first, 40);
    await events(second, 40);
    await openConnections();
    // Claimers that look at different apps first: only the lock keeps their counts honest.
    const batches = await Promise.all(Array.from({ length: 6 }, (_, i) => claim(db(), { limit: 12, leaseMs: LEASE, exclude: [i % 2 === 0 ? first : second] })));
    const counts = countBy(batches.flat());
    expect((counts.get(first) ?? 0) + (counts.get(second) ?? 0)).toBe(5);
  });
});
