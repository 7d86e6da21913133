import { afterAll, beforeAll, expect, it } from "vitest";
import { runs } from "@switchyard/db";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor } from "./support/manager.ts";

describeEachDriver("the runs list's cursor", (ctx) => {
  let built: Awaited<ReturnType<typeof managerFor>>;
  let admin: ReturnType<typeof client>;
  let limited: ReturnType<typeof client>;
  let ours: string;
  let theirRunId: string;
  const base = new Date("2024-01-01T00:00:00Z").getTime();

  const addRun = (appId: string, id: string, secondsIn: number) =>
    ctx.database.db.insert(runs).values({
      id, appId, scriptId: "scr_x", scriptVersion: 1, eventId: `evt_${id}`, eventKind: "manual", attempt: 1, status: "ok", startedAt: new Date(base + secondsIn * 1000),
    });

  beforeAll(async () => {
    built = await managerFor(ctx.database);
    admin = client(built.app, built.adminToken!);
    const mine = (await admin.post("/api/v1/admin/workspaces", { name: "mine" })).json.id;
    const theirs = (await admin.post("/api/v1/admin/workspaces", { name: "theirs" })).json.id;
    ours = (await admin.post("/api/v1/admin/apps", { name: "ours", workspace_id: mine })).json.id;
    const theirApp = (await admin.post("/api/v1/admin/apps", { name: "theirs", workspace_id: theirs })).json.id;
    // Two of ours start in the same instant: the cursor must neither skip nor repeat either.
    for (const [id, s] of [["run_a1", 1], ["run_a2", 2], ["run_a3", 2], ["run_a4", 4]] as const) await addRun(ours, id, s);
    theirRunId = "run_b1";
    await addRun(theirApp, theirRunId, 3);
    const token = await admin.post("/api/v1/admin/tokens", { name: "mine-reader", scopes: ["runs:read"], workspace_id: mine });
    expect(token.status).toBe(201);
    limited = client(built.app, token.json.token);
  });
  afterAll(async () => built?.services.stop());

  const list = (api: ReturnType<typeof client>, before: string, limit = 50) =>
    api.get(`/api/v1/admin/apps/${ours}/runs?before=${encodeURIComponent(before)}&limit=${limit}`);

  it("pages by the cursor in the list's own order, runs that started together included", async () => {
    const firstPage = await limited.get(`/api/v1/admin/apps/${ours}/runs?limit=2`);
    expect(firstPage.json.runs.map((r: { id: string }) => r.id)).toEqual(["run_a4", "run_a3"]);
    const next = await list(limited, "run_a3", 2);
    expect(next.json.runs.map((r: { id: string }) => r.id)).toEqual(["run_a2", "run_a1"]);
  });

  it("answers a run of another workspace's app as a cursor exactly as a made-up one: 400 invalid_cursor", async () => {
    const foreign = await list(limited, theirRunId);
    const madeUp = await list(limited, "run_doesnotexist");
    expect(foreign.status).toBe(400);
    expect(foreign.json.error).toMatchObject({ code: "invalid_cursor", details: { parameter: "before" } });
    expect([madeUp.status, madeUp.json]).toEqual([foreign.status, foreign.json]);
    // Even an unlimited admin token cannot page one app's runs from another app's run.
    expect((await list(admin, theirRunId)).json.error.code).toBe("invalid_cursor");
  });
});
