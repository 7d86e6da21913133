import { sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { deadLetters, emailMessages, runs } from "@switchyard/db";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor } from "./support/manager.ts";

/**
 * Rows whose times differ by microseconds only, and ids that sort against
 * their times, so neither a millisecond cursor nor an id-only one pages
 * them right: [time, id suffix].
 */
const ROWS: [string, string][] = [
  ["2024-01-01 00:00:00.000100+00", "x9"],
  ["2024-01-01 00:00:00.000200+00", "x8"],
  ["2024-01-01 00:00:00.000300+00", "x7"],
  ["2024-01-01 00:00:00.000300+00", "x6"],
  ["2024-01-01 00:00:00.000999+00", "x5"],
  ["2024-01-01 00:00:00.001000+00", "x4"],
  ["2024-01-01 00:00:00.001001+00", "x3"],
];
/** Newest first, ties by id descending: the lists' own order. */
const NEWEST_FIRST = ["x3", "x4", "x5", "x7", "x6", "x8", "x9"];

describeEachDriver("before cursors at PostgreSQL's microsecond precision", (ctx) => {
  let built: Awaited<ReturnType<typeof managerFor>>;
  let admin: ReturnType<typeof client>;
  let appId: string;

  beforeAll(async () => {
    built = await managerFor(ctx.database);
    admin = client(built.app, built.adminToken!);
    appId = (await admin.post("/api/v1/admin/apps", { name: "precise" })).json.id;
    const { db } = ctx.database;
    for (const [, suffix] of ROWS) {
      await db.insert(runs).values({ id: `run_${suffix}`, appId, scriptId: "scr_x", scriptVersion: 1, eventId: `evt_${suffix}`, eventKind: "manual", attempt: 1, status: "ok" });
      await db.insert(emailMessages).values({ id: `msg_${suffix}`, appId, status: "captured", fromAddress: "a@example.com", to: [], cc: [], bcc: [], subject: "s", accepted: [], rejected: [], size: 1 });
      await db.insert(deadLetters).values({ id: `dl_${suffix}`, appId, eventId: `evt_${suffix}`, scriptId: "scr_x", kind: "manual", event: {}, retry: { max_attempts: 1, backoff: "fixed", base_ms: 10 }, attempts: 1, depth: 0 });
    }
    // Set as text: a JS Date (drizzle's mode) cannot hold these microseconds.
    for (const [time, suffix] of ROWS) {
      await db.execute(sql`update runs set started_at = ${time}::timestamptz where id = ${`run_${suffix}`}`);
      await db.execute(sql`update email_messages set created_at = ${time}::timestamptz where id = ${`msg_${suffix}`}`);
      await db.execute(sql`update dead_letters set created_at = ${time}::timestamptz where id = ${`dl_${suffix}`}`);
    }
  });
  afterAll(async () => built?.services.stop());

  /** Every id of a list, one page of one row at a time, following `before`. */
  async function pageByOne(path: string, key: string): Promise<string[]> {
    const seen: string[] = [];
    let before: string | undefined;
    for (let page = 0; page <= ROWS.length + 1; page++) {
      const res = await admin.get(`/api/v1/admin/apps/${appId}/${path}?limit=1${before ? `&before=${before}` : ""}`);
      expect(res.status).toBe(200);
      const ids = (res.json[key] as { id: string }[]).map((r) => r.id);
      if (ids.length === 0) return seen;
      seen.push(...ids);
      before = ids.at(-1);
    }
    throw new Error(`${path} did not end: ${seen.join(", ")}`);
  }

  for (const [path, key, prefix] of [
    ["runs", "runs", "run_"],
    ["emails", "emails", "msg_"],
    ["dead-letters", "dead_letters", "dl_"],
  ] as const) {
    it(`pages ${path} one by one through rows microseconds apart, each exactly once, in order`, async () => {
      expect(await pageByOne(path, key)).toEqual(NEWEST_FIRST.map((id) => `${prefix}${id}`));
    });
  }
});
