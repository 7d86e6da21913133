import { eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { emailMessages } from "@switchyard/db";
import { describeEachDriver } from "../../../../test/support/databases.ts";
import { createApp } from "../tenancy.ts";
import { InvalidCursorError } from "../errors.ts";
import { createSendLog, listEmails } from "./send-log.ts";

const SYSTEM = { type: "system" as const, id: "test" };

const entry = (appId: string, n: number, key: string | null = `key_${n}`) => ({
  appId,
  runId: "run_log",
  status: "sent" as const,
  from: "app@example.com",
  to: [`to${n}@example.com`],
  cc: [],
  bcc: ["hidden@example.com"],
  subject: `subject ${n} — ünïcode "quoted"`,
  messageId: `<m${n}@example.com>`,
  accepted: [`to${n}@example.com`],
  rejected: [],
  error: null,
  size: 100 + n,
  body: null,
  idempotencyKey: key,
});

describeEachDriver("send log", (ctx) => {
  const db = () => ctx.database.db;

  it("writes rows recorded together in one go, each whole, and finds a send by its key", async () => {
    const app = await createApp(db(), SYSTEM, { name: "log-batch" });
    // A long linger: nothing is written until flush asks.
    const log = createSendLog(db(), { lingerMs: 60_000 });
    let written = 0;
    const writes = [1, 2, 3].map((n) => log.record(entry(app.id, n)).then(() => written++));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(written).toBe(0);
    log.flush();
    await Promise.all(writes);
    const rows = await db().select().from(emailMessages).where(eq(emailMessages.appId, app.id));
    expect(rows.map((r) => r.subject).sort()).toEqual([1, 2, 3].map((n) => `subject ${n} — ünïcode "quoted"`));
    expect(rows.find((r) => r.size === 102)).toMatchObject({ fromAddress: "app@example.com", to: ["to2@example.com"], bcc: ["hidden@example.com"], messageId: "<m2@example.com>", status: "sent", error: null, body: null });
    expect(await log.find(app.id, "key_2")).toEqual({ message_id: "<m2@example.com>", accepted: ["to2@example.com"], rejected: [] });
    expect(await log.find(app.id, "key_9")).toBeNull();
  });

  it("writes a lone row after its linger without a flush, and keeps the first of two under one key", async () => {
    const app = await createApp(db(), SYSTEM, { name: "log-linger" });
    const log = createSendLog(db(), { lingerMs: 5 });
    await log.record(entry(app.id, 1, "same"));
    await log.record({ ...entry(app.id, 2, "same"), messageId: "<second@example.com>" });
    expect(await log.find(app.id, "same")).toMatchObject({ message_id: "<m1@example.com>" });
    expect(await db().select().from(emailMessages).where(eq(emailMessages.appId, app.id))).toHaveLength(1);
  });

  it("keeps the script each message was sent from", async () => {
    const app = await createApp(db(), SYSTEM, { name: "log-script" });
    const log = createSendLog(db(), { lingerMs: 1 });
    await log.record({ ...entry(app.id, 1), scriptId: "scr_sender" });
    const [row] = await db().select().from(emailMessages).where(eq(emailMessages.appId, app.id));
    expect(row?.scriptId).toBe("scr_sender");
  });

  it("pages only by a cursor from the app's own log: another app's message, like a made-up id, is invalid_cursor", async () => {
    const mine = await createApp(db(), SYSTEM, { name: "log-cursor-mine" });
    const theirs = await createApp(db(), SYSTEM, { name: "log-cursor-theirs" });
    const log = createSendLog(db(), { lingerMs: 1 });
    for (const n of [1, 2, 3]) await log.record(entry(mine.id, n));
    await log.record(entry(theirs.id, 9));
    const all = await listEmails(db(), SYSTEM, mine.id, {});
    expect(all.map((m) => m.size).sort()).toEqual([101, 102, 103]);
    const page = await listEmails(db(), SYSTEM, mine.id, { before: all[0]!.id, limit: 1 });
    expect(page.map((m) => m.id)).toEqual([all[1]!.id]);
    const [foreign] = await listEmails(db(), SYSTEM, theirs.id, {});
    for (const before of [foreign!.id, "msg_made_up", ""]) {
      await expect(listEmails(db(), SYSTEM, mine.id, { before }), before).rejects.toBeInstanceOf(InvalidCursorError);
    }
    await expect(listEmails(db(), SYSTEM, mine.id, { before: foreign!.id })).rejects.toMatchObject({ code: "invalid_cursor" });
  });

  it("fails only the bad row of a batch", async () => {
    const app = await createApp(db(), SYSTEM, { name: "log-bad-row" });
    const log = createSendLog(db(), { lingerMs: 60_000 });
    const good = log.record(entry(app.id, 1));
    // An app that does not exist breaks the foreign key: its row, not the batch.
    const bad = log.record(entry("app_missing", 2));
    log.flush();
    await expect(good).resolves.toBeUndefined();
    await expect(bad).rejects.toThrow();
    expect(await log.find(app.id, "key_1")).not.toBeNull();
  });
});
