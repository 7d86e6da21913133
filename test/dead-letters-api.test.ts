import { afterAll, beforeAll, expect, it } from "vitest";
import { deadLetters } from "@switchyard/db";
import { describeEachDriver } from "./support/databases.ts";
import { waitFor } from "./support/wait.ts";
import { client, managerFor } from "./support/manager.ts";

type Client = ReturnType<typeof client>;

// Fails for good while the MODE secret says "broken"; the message names
// neither mode, so secret redaction leaves it as written.
const MOODY = `export default async function (event, ctx) {
  if ((await secrets.get("MODE")) === "broken") throw new NonRetryableError("refusing to run");
  return { ok: true, replay: ctx.run.replay ?? false, event_id: ctx.run.event_id, payload: event.payload };
}`;

describeEachDriver("dead letters over the admin API", (ctx) => {
  let built: Awaited<ReturnType<typeof managerFor>>;
  let admin: Client;
  let appId: string;
  let moody: string;
  let doomed: string;
  /** The event the first test dead-letters; the second replays it. */
  let firstEvent: string;
  const base = () => `/api/v1/admin/apps/${appId}/dead-letters`;

  const setMode = async (value: string) => {
    const res = await admin.post(`/api/v1/admin/apps/${appId}/secrets`, { name: "MODE", value });
    expect(res.status).toBeLessThan(300);
  };
  const invoke = async (scriptId: string, payload: unknown) => {
    const res = await admin.post(`/api/v1/admin/apps/${appId}/scripts/${scriptId}/invoke`, { payload });
    expect(res.status).toBe(202);
    return res.json.event_id as string;
  };
  const listed = async (query = "") => {
    const res = await admin.get(`${base()}?limit=200${query}`);
    expect(res.status).toBe(200);
    return res.json.dead_letters as Record<string, any>[];
  };
  const deadLetterOf = (eventId: string) => waitFor(async () => (await listed()).find((d) => d.event_id === eventId));
  /** The finished first attempt of an event, whole. */
  const settled = (eventId: string) =>
    waitFor(async () => {
      const runs = (await admin.get(`/api/v1/admin/apps/${appId}/runs?event_id=${eventId}`)).json.runs as { id: string; status: string }[];
      const done = runs.find((r) => r.status !== "running");
      return done && (await admin.get(`/api/v1/admin/apps/${appId}/runs/${done.id}`)).json;
    });
  const audit = async (action: string) => (await admin.get(`/api/v1/admin/apps/${appId}/audit?action=${action}`)).json.audit as Record<string, any>[];

  beforeAll(async () => {
    built = await managerFor(ctx.database, { worker: true });
    admin = client(built.app, built.adminToken!);
    appId = (await admin.post("/api/v1/admin/apps", { name: "letters" })).json.id;
    moody = (await admin.post(`/api/v1/admin/apps/${appId}/scripts`, { name: "moody", source: MOODY })).json.id;
    doomed = (await admin.post(`/api/v1/admin/apps/${appId}/scripts`, { name: "doomed", source: 'export default () => { throw new NonRetryableError("never works"); }' })).json.id;
    expect(moody).toMatch(/^scr_/);
    expect(doomed).toMatch(/^scr_/);
  });
  afterAll(async () => built?.services.stop());

  it("keeps a failed event as a dead letter and shows it whole, the original event included", async () => {
    await setMode("broken");
    const eventId = await invoke(moody, { order: 17 });
    firstEvent = eventId;
    const item = await deadLetterOf(eventId);
    expect(item).toMatchObject({ app_id: appId, event_id: eventId, script_id: moody, trigger_id: null, kind: "manual", attempts: 1, depth: 0 });
    expect(item.id).toMatch(/^dl_/);
    expect(item).not.toHaveProperty("event");
    const shown = await admin.get(`${base()}/${item.id}`);
    expect(shown.status).toBe(200);
    expect(shown.json).toMatchObject({
      id: item.id,
      event_id: eventId,
      event: { kind: "manual", payload: { order: 17 } },
      attempts: 1,
      last_error: { message: "refusing to run" },
    });
    for (const field of ["first_attempt_at", "last_attempt_at", "created_at"]) expect(Date.parse(shown.json[field])).not.toBeNaN();
  });

  it("replays a dead letter as a new event marked as a replay, and the dead letter leaves the list", async () => {
    const original = firstEvent;
    const item = await deadLetterOf(original);
    await setMode("fixed");
    const replayed = await admin.post(`${base()}/${item.id}/replay`);
    expect(replayed.status).toBe(202);
    const eventId = replayed.json.event_id as string;
    expect(eventId).toMatch(/^evt_/);
    expect(eventId).not.toBe(original);
    const run = await settled(eventId);
    expect(run).toMatchObject({ status: "ok", attempt: 1, event_kind: "manual", result: { ok: true, replay: true, event_id: eventId, payload: { order: 17 } } });
    expect((await listed()).map((d) => d.id)).not.toContain(item.id);
    expect((await admin.get(`${base()}/${item.id}`)).status).toBe(404);
    expect((await admin.post(`${base()}/${item.id}/replay`)).status).toBe(404);
    const [row] = (await audit("dead_letter.replay")).filter((r) => r.details.dead_letter_id === item.id);
    expect(row).toMatchObject({ outcome: "ok", actor_type: "token", app_id: appId, details: { dead_letter_id: item.id, event_id: original, replay_event_id: eventId } });
    // A run of an event that was never dead-lettered is not a replay.
    expect((await settled(await invoke(moody, null))).result.replay).toBe(false);
  });

  it("dead-letters a replay anew when it fails again, and deletes a dead letter (204, then 404)", async () => {
    await setMode("broken");
    const first = await deadLetterOf(await invoke(moody, { order: 19 }));
    const replayed = await admin.post(`${base()}/${first.id}/replay`);
    expect(replayed.status).toBe(202);
    const again = await deadLetterOf(replayed.json.event_id);
    expect(again.id).not.toBe(first.id);
    expect((await admin.get(`${base()}/${again.id}`)).json.event).toEqual({ kind: "manual", payload: { order: 19 } });
    expect((await listed()).map((d) => d.id)).not.toContain(first.id);

    expect((await admin.delete(`${base()}/${again.id}`)).status).toBe(204);
    expect((await admin.get(`${base()}/${again.id}`)).status).toBe(404);
    expect((await admin.delete(`${base()}/${again.id}`)).status).toBe(404);
    expect((await listed()).map((d) => d.id)).not.toContain(again.id);
    const [row] = (await audit("dead_letter.delete")).filter((r) => r.details.dead_letter_id === again.id);
    expect(row).toMatchObject({ outcome: "ok", app_id: appId, details: { dead_letter_id: again.id, event_id: replayed.json.event_id } });
  });

  it("lists with filters and pages newest first", async () => {
    await setMode("broken");
    const ids = [];
    for (const order of [1, 2, 3]) ids.push(await invoke(moody, { order }));
    const doomedEvent = await invoke(doomed, null);
    for (const id of [...ids, doomedEvent]) await deadLetterOf(id);

    const mine = await listed(`&script_id=${moody}`);
    expect(mine.map((d) => d.event_id).sort()).toEqual([...ids].sort());
    expect(mine.every((d) => d.script_id === moody)).toBe(true);
    const stamps = mine.map((d) => Date.parse(d.created_at));
    expect([...stamps].sort((a, b) => b - a)).toEqual(stamps);
    expect((await listed("&kind=manual")).length).toBe(4);
    expect(await listed("&kind=email")).toEqual([]);
    expect(await listed("&trigger_id=trg_nope")).toEqual([]);

    const page = (await admin.get(`${base()}?script_id=${moody}&limit=2`)).json.dead_letters;
    const next = (await admin.get(`${base()}?script_id=${moody}&limit=2&before=${page[1].id}`)).json.dead_letters;
    expect(page).toHaveLength(2);
    expect(next).toHaveLength(1);
    expect(new Set([...page, ...next].map((d: { id: string }) => d.id)).size).toBe(3);
    expect((await admin.get(`${base()}?before=dl_unknown`)).json.error.code).toBe("invalid_cursor");
    expect((await admin.get(`${base()}?limit=500`)).status).toBe(400);
    expect((await admin.get(`${base()}?bogus=1`)).status).toBe(400);
  });

  it("replays many by script at once and leaves the others", async () => {
    const before = await listed(`&script_id=${moody}`);
    expect(before.length).toBe(3);
    await setMode("fixed");
    const res = await admin.post(`${base()}/replay`, { script_id: moody });
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({ replayed: 3, more: false });
    expect(res.json.event_ids).toHaveLength(3);
    const results = await Promise.all(res.json.event_ids.map((id: string) => settled(id)));
    expect(results.map((r) => r.status)).toEqual(["ok", "ok", "ok"]);
    expect(results.every((r) => r.result.replay === true)).toBe(true);
    expect(results.map((r) => r.result.payload.order).sort()).toEqual([1, 2, 3]);
    expect(await listed(`&script_id=${moody}`)).toEqual([]);
    expect((await listed(`&script_id=${doomed}`)).length).toBe(1);
    // Oldest dead letter first (the list is newest first), each replay audited with its original event.
    const audited = await audit("dead_letter.replay");
    const originals = res.json.event_ids.map((id: string) => audited.find((r) => r.details.replay_event_id === id)?.details.event_id);
    expect(originals).toEqual(before.map((d) => d.event_id).reverse());

    const none = await admin.post(`${base()}/replay`, { script_id: moody });
    expect(none.json).toEqual({ replayed: 0, event_ids: [], more: false });
    expect((await admin.post(`${base()}/replay`, { script: moody })).status).toBe(400);
  });

  it("lets a runs:read token read but not replay or delete, and hides the app from another workspace", async () => {
    const [item] = await listed(`&script_id=${doomed}`);
    expect(item).toBeDefined();
    const readerToken = (await admin.post("/api/v1/admin/tokens", { name: "dl-reader", scopes: ["runs:read"] })).json.token;
    const reader = client(built.app, readerToken);
    expect((await reader.get(base())).status).toBe(200);
    expect((await reader.get(`${base()}/${item!.id}`)).status).toBe(200);
    expect((await reader.post(`${base()}/${item!.id}/replay`)).status).toBe(403);
    expect((await reader.post(`${base()}/replay`, {})).status).toBe(403);
    expect((await reader.delete(`${base()}/${item!.id}`)).status).toBe(403);

    const writerToken = (await admin.post("/api/v1/admin/tokens", { name: "dl-writer", scopes: ["scripts:write", "secrets:reveal"] })).json.token;
    expect((await client(built.app, writerToken).get(base())).status).toBe(403);

    const workspaceId = (await admin.post("/api/v1/admin/workspaces", { name: "elsewhere" })).json.id;
    const outsider = client(
      built.app,
      (await admin.post("/api/v1/admin/tokens", { name: "dl-outsider", scopes: ["runs:read", "scripts:write", "secrets:reveal"], workspace_id: workspaceId })).json.token,
    );
    expect((await outsider.get(base())).status).toBe(404);
    expect((await outsider.get(`${base()}/${item!.id}`)).status).toBe(404);
    expect((await outsider.post(`${base()}/${item!.id}/replay`)).status).toBe(404);
    expect((await outsider.post(`${base()}/replay`, {})).status).toBe(404);
    expect((await outsider.delete(`${base()}/${item!.id}`)).status).toBe(404);

    expect((await admin.get(`${base()}/dl_unknown`)).status).toBe(404);
    expect((await admin.post(`${base()}/dl_unknown/replay`)).status).toBe(404);
    expect((await admin.delete(`${base()}/dl_unknown`)).status).toBe(404);
    // Still there: nothing above changed it.
    expect((await admin.get(`${base()}/${item!.id}`)).status).toBe(200);
  });

  it("replays at most 1000 in one call and says more remain", async () => {
    const triggerId = "trg_bulk";
    // Rows straight into the table: 1001 real failures would take minutes.
    await ctx.database.db.insert(deadLetters).values(
      Array.from({ length: 1001 }, (_, i) => ({
        id: `dl_bulk_${String(i).padStart(4, "0")}`,
        appId,
        eventId: `evt_bulk_${i}`,
        scriptId: doomed,
        triggerId,
        kind: "manual",
        event: { kind: "manual", payload: i },
        retry: { max_attempts: 1, backoff: "fixed" as const, base_ms: 10 },
        attempts: 1,
        depth: 0,
      })),
    );
    const res = await admin.post(`${base()}/replay`, { trigger_id: triggerId });
    expect(res.status).toBe(202);
    expect(res.json.replayed).toBe(1000);
    expect(res.json.more).toBe(true);
    expect(new Set(res.json.event_ids).size).toBe(1000);
  }, 60_000);
});
