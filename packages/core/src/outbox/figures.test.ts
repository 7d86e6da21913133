import { eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { outbox } from "@switchyard/db";
import { describeEachDriver } from "../../../../test/support/databases.ts";
import { createApp } from "../tenancy.ts";
import { oldestDueSeconds, outboxDepth } from "./figures.ts";
import { enqueue } from "./queue.ts";

const SYSTEM = { type: "system" as const, id: "test" };

describeEachDriver("outbox figures", (ctx) => {
  const db = () => ctx.database.db;

  it("counts every waiting event and ages only the oldest due one that is not running", async () => {
    expect(await outboxDepth(db())).toBe(0);
    expect(await oldestDueSeconds(db())).toBe(0);
    const app = await createApp(db(), SYSTEM, { name: "figures" });
    const at = (ms: number) => new Date(Date.now() + ms);
    const [due, later, running] = await db().transaction(async (tx) => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push(await enqueue(tx, { appId: app.id, scriptId: "scr_x", kind: "manual", event: { kind: "manual" }, origin: "test" }));
      return ids as [string, string, string];
    });
    await db().update(outbox).set({ runAt: at(-60_000) }).where(eq(outbox.id, due));
    await db().update(outbox).set({ runAt: at(3_600_000) }).where(eq(outbox.id, later));
    await db().update(outbox).set({ runAt: at(-600_000), leaseToken: "lease_x", leaseUntil: at(60_000) }).where(eq(outbox.id, running));
    expect(await outboxDepth(db())).toBe(3);
    const age = await oldestDueSeconds(db());
    expect(age).toBeGreaterThanOrEqual(59);
    expect(age).toBeLessThan(120);
    // A lease that ran out: the event is due again, and the oldest.
    await db().update(outbox).set({ leaseUntil: at(-1_000) }).where(eq(outbox.id, running));
    expect(await oldestDueSeconds(db())).toBeGreaterThanOrEqual(599);
  });
});
