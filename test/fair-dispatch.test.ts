import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { auditLog, runs } from "@switchyard/db";
import { describeEachDriver, type DriverContext } from "./support/databases.ts";
import { client, managerFor } from "./support/manager.ts";
import { waitFor } from "./support/wait.ts";

const LONG_MS = 6_000;
const CONCURRENCY = 4;

type Target = { appId: string; scriptId: string };

/** A manager with a worker of CONCURRENCY slots on the driver's database, for one describe block, and what its tests call. */
function workerForBlock(ctx: DriverContext) {
  let built: Awaited<ReturnType<typeof managerFor>>;
  let admin: ReturnType<typeof client>;
  beforeAll(async () => {
    built = await managerFor(ctx.database, { worker: true, settings: { workerConcurrency: CONCURRENCY } });
    admin = client(built.app, built.adminToken!);
  });
  afterAll(async () => built?.services.stop());
  return {
    admin: () => admin,
    app: () => built.app,
    stats: () => built.services.dispatcher!.stats(),
    async appWith(name: string, source: string): Promise<Target> {
      const appId = (await admin.post("/api/v1/admin/apps", { name })).json.id as string;
      const scriptId = (await admin.post(`/api/v1/admin/apps/${appId}/scripts`, { name, source })).json.id as string;
      return { appId, scriptId };
    },
    invoke: async (target: Target) =>
      (await admin.post(`/api/v1/admin/apps/${target.appId}/scripts/${target.scriptId}/invoke`, { payload: {} })).json.event_id as string,
  };
}

describeEachDriver("fair dispatch between tenants", (ctx) => {
  const worker = workerForBlock(ctx);
  const { appWith, invoke, stats } = worker;

  it("starts a light tenant's runs at once while a heavy tenant's long runs fill the worker and more wait", async () => {
    const heavy = await appWith("heavy", `export default async () => { await new Promise((r) => setTimeout(r, ${LONG_MS})); }`);
    const light = await appWith("light", "export default () => 1");
    for (let i = 0; i < 3 * CONCURRENCY; i++) await invoke(heavy);
    // The heavy tenant takes every slot but the last, which stays free for an app with nothing running.
    await waitFor(async () => stats().running === CONCURRENCY - 1);

    const waited: number[] = [];
    for (let i = 0; i < 3; i++) {
      const invokedAt = Date.now();
      const eventId = await invoke(light);
      const [run] = await waitFor(async () => {
        const rows = await ctx.database.db.select().from(runs).where(eq(runs.eventId, eventId));
        return rows.length > 0 && rows;
      }, LONG_MS);
      waited.push(run!.startedAt.getTime() - invokedAt);
    }
    // Each started long before any heavy run could end and free a slot.
    expect(Math.max(...waited)).toBeLessThan(LONG_MS / 3);
    // The heavy tenant kept its share meanwhile: none of its runs is done, all of its slots still busy.
    expect(stats().running).toBe(CONCURRENCY - 1);
    // Its backlog goes with it; the runs in flight end within LONG_MS.
    expect((await worker.admin().delete(`/api/v1/admin/apps/${heavy.appId}`)).status).toBe(204);
  }, 60_000);

  it("lets only an operator set an app's or a workspace's cap, and says what is wrong with a bad one", async () => {
    const { appId } = await appWith("capped", "export default () => 1");
    const set = await worker.admin().patch(`/api/v1/admin/apps/${appId}`, { concurrency: 3 });
    expect(set.status).toBe(200);
    expect(set.json.concurrency).toBe(3);
    expect((await worker.admin().get(`/api/v1/admin/apps/${appId}`)).json.concurrency).toBe(3);
    const audited = await ctx.database.db.select().from(auditLog).where(inArray(auditLog.action, ["app.concurrency"]));
    expect(audited.map((r) => r.details)).toContainEqual({ concurrency: 3 });

    for (const bad of [{ concurrency: 0 }, { concurrency: 1.5 }, { concurrency: "3" }, {}, { concurrency: 3, extra: true }]) {
      const answer = await worker.admin().patch(`/api/v1/admin/apps/${appId}`, bad);
      expect(answer.status).toBe(400);
      expect(answer.json.error.code).toBe("invalid_input");
    }
    expect((await worker.admin().get(`/api/v1/admin/apps/${appId}`)).json.concurrency).toBe(3);

    // A tenant's token, even one that may manage apps, cannot lift its own cap.
    const scoped = await worker.admin().post("/api/v1/admin/tokens", { name: "tenant", scopes: ["admin"], workspace_id: "ws_default" });
    const tenant = client(worker.app(), scoped.json.token);
    expect((await tenant.patch(`/api/v1/admin/apps/${appId}`, { concurrency: 1000 })).status).toBe(403);
    expect((await tenant.patch("/api/v1/admin/workspaces/ws_default", { concurrency: 1000 })).status).toBe(403);

    expect((await worker.admin().patch(`/api/v1/admin/apps/${appId}`, { concurrency: null })).json.concurrency).toBeNull();
    const workspace = await worker.admin().patch("/api/v1/admin/workspaces/ws_default", { concurrency: 50 });
    expect(workspace.status).toBe(200);
    expect(workspace.json.concurrency).toBe(50);
    expect((await worker.admin().patch("/api/v1/admin/workspaces/ws_default", { concurrency: null })).json.concurrency).toBeNull();
    expect((await worker.admin().patch("/api/v1/admin/workspaces/ws_nope", { concurrency: 5 })).status).toBe(404);
  });
});

describeEachDriver("newcomer claims", (ctx) => {
  const worker = workerForBlock(ctx);
  const { appWith, invoke, stats } = worker;

  it("makes no claim for a busy tenant's own NOTIFYs while its runs fill the worker, and still claims for a newcomer's", async () => {
    const heavy = await appWith("heavy-notify", `export default async () => { await new Promise((r) => setTimeout(r, ${LONG_MS})); }`);
    const light = await appWith("light-notify", "export default () => 1");
    for (let i = 0; i < 2 * CONCURRENCY; i++) await invoke(heavy);
    await waitFor(async () => stats().running === CONCURRENCY - 1 && stats().queued > 0);
    const before = stats().claims;
    const started = Date.now();
    for (let i = 0; i < 20; i++) await invoke(heavy);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Each of the 20 NOTIFYs named an app the worker already holds: none is worth a query. The
    // fallback poll (every 250 ms) may still claim for the free slot meanwhile.
    const polls = Math.ceil((Date.now() - started) / 250) + 1;
    expect(stats().claims - before).toBeLessThanOrEqual(polls);
    expect(polls).toBeLessThan(20);
    // A newcomer's NOTIFY is still claimed for at once.
    const eventId = await invoke(light);
    await waitFor(async () => (await ctx.database.db.select().from(runs).where(eq(runs.eventId, eventId))).length > 0, LONG_MS / 3);
    expect((await worker.admin().delete(`/api/v1/admin/apps/${heavy.appId}`)).status).toBe(204);
  }, 60_000);

});
