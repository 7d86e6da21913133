import { afterAll, beforeAll, expect, it } from "vitest";
import { deadLetters, emailMessages, runs } from "@switchyard/db";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor } from "./support/manager.ts";

/** The listings that page with `before`, and a row id of each kind. */
const LISTINGS = [
  { path: "runs", prefix: "run_" },
  { path: "emails", prefix: "msg_" },
  { path: "dead-letters", prefix: "dl_" },
] as const;

describeEachDriver("a before cursor that names nothing in the list", (ctx) => {
  let built: Awaited<ReturnType<typeof managerFor>>;
  let admin: ReturnType<typeof client>;
  let ours: string;

  beforeAll(async () => {
    built = await managerFor(ctx.database);
    admin = client(built.app, built.adminToken!);
    ours = (await admin.post("/api/v1/admin/apps", { name: "ours" })).json.id;
    const theirs = (await admin.post("/api/v1/admin/apps", { name: "theirs" })).json.id;
    // One row of each list in the other app: its id is a real row, just not one of ours.
    const { db } = ctx.database;
    await db.insert(runs).values({ id: "run_theirs", appId: theirs, scriptId: "scr_x", scriptVersion: 1, eventId: "evt_theirs", eventKind: "manual", attempt: 1, status: "ok" });
    await db.insert(emailMessages).values({ id: "msg_theirs", appId: theirs, status: "captured", fromAddress: "a@example.com", to: [], cc: [], bcc: [], subject: "s", accepted: [], rejected: [], size: 1 });
    await db.insert(deadLetters).values({ id: "dl_theirs", appId: theirs, eventId: "evt_theirs", scriptId: "scr_x", kind: "manual", event: {}, retry: { max_attempts: 1, backoff: "fixed", base_ms: 10 }, attempts: 1, depth: 0 });
  });
  afterAll(async () => built?.services.stop());

  for (const { path, prefix } of LISTINGS) {
    it(`answers ${path} with 400 invalid_cursor for a made-up, another app's or an empty cursor, like every listing`, async () => {
      for (const cursor of [`${prefix}unknown`, `${prefix}theirs`, ""]) {
        const res = await admin.get(`/api/v1/admin/apps/${ours}/${path}?before=${encodeURIComponent(cursor)}`);
        expect([cursor, res.status, res.json]).toEqual([
          cursor,
          400,
          { error: { code: "invalid_cursor", message: "before does not name an entry of this list", details: { parameter: "before" } } },
        ]);
      }
    });
  }
});
