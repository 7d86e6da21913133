import { eq, sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { operatorWebhooks, webhookDeliveries } from "@switchyard/db";
import { describeEachDriver } from "../../../../test/support/databases.ts";
import { newId } from "../ids.ts";
import { claimDeliveries, completeDelivery, pruneDeliveries } from "./deliveries.ts";
import { fanOutToWebhooks } from "./enqueue.ts";

const SYSTEM = { type: "system" as const, id: "test" };
const RETRY = { max_attempts: 2, backoff: "fixed" as const, base_ms: 10 };

describeEachDriver("webhook deliveries", (ctx) => {
  const db = () => ctx.database.db;

  async function queued(name: string) {
    const id = newId("wh");
    await db().insert(operatorWebhooks).values({ id, url: "https://hooks.example.com/sy", events: ["secret.changed"], secretSealed: Buffer.from("sealed"), retry: RETRY, createdBy: "test" });
    await db().transaction((tx) => fanOutToWebhooks(tx, [{ name, scope: "global", scopeId: "", version: 1, action: "created", actor: SYSTEM, workspaceId: null }]));
    const [row] = await db().select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, id));
    if (!row) throw new Error("no delivery queued");
    return { webhookId: id, row };
  }
  const claimOne = async (deliveryId: string) => (await claimDeliveries(db(), { limit: 100, leaseMs: 60_000 })).find((c) => c.id === deliveryId);
  const fail = { status: 500, error: { code: "http_500", message: "the receiver answered HTTP 500" } };

  it("queues one delivery per subscribed webhook, without the value, and claims it once with the webhook's URL", async () => {
    const { row } = await queued("A_NAME");
    expect(row).toMatchObject({ status: "pending", attempts: 0, eventType: "secret.changed", messageId: row.id });
    expect(row.payload).toMatchObject({ type: "secret.changed", data: { name: "A_NAME", scope: "global", scope_id: null, version: 1, action: "created", actor: SYSTEM } });
    const first = await claimOne(row.id);
    expect(first).toMatchObject({ attempts: 1, url: "https://hooks.example.com/sy", workspaceId: null });
    expect(first?.secretSealed.toString()).toBe("sealed");
    // Leased: a second claim does not take it.
    expect(await claimOne(row.id)).toBeUndefined();
  });

  it("retries a failure after the backoff, then dead-letters it after its last attempt", async () => {
    const { row } = await queued("RETRIED");
    const first = await claimOne(row.id);
    expect(await completeDelivery(db(), first!, fail)).toBe("retrying");
    const [waiting] = await db().select().from(webhookDeliveries).where(eq(webhookDeliveries.id, row.id));
    expect(waiting).toMatchObject({ status: "pending", leaseToken: null, lastStatus: 500, lastError: fail.error });
    await db().update(webhookDeliveries).set({ runAt: new Date(Date.now() - 1000) }).where(eq(webhookDeliveries.id, row.id));
    const second = await claimOne(row.id);
    expect(second?.attempts).toBe(2);
    expect(await completeDelivery(db(), second!, fail)).toBe("dead_lettered");
    const [dead] = await db().select().from(webhookDeliveries).where(eq(webhookDeliveries.id, row.id));
    expect(dead).toMatchObject({ status: "dead_letter", attempts: 2 });
    expect(dead?.finishedAt).toBeInstanceOf(Date);
    expect(await claimOne(row.id)).toBeUndefined();
  });

  it("lets a late completion whose lease lapsed change nothing", async () => {
    const { row } = await queued("LATE");
    const stale = await claimOne(row.id);
    // The lease lapses (its process stalled); another deliverer claims it.
    await db().execute(sql`update webhook_deliveries set lease_until = now() - interval '1 second' where id = ${row.id}`);
    const fresh = await claimOne(row.id);
    expect(fresh?.attempts).toBe(2);
    expect(await completeDelivery(db(), stale!, { status: 200, error: null })).toBe("lost");
    const [still] = await db().select().from(webhookDeliveries).where(eq(webhookDeliveries.id, row.id));
    expect(still).toMatchObject({ status: "pending", leaseToken: fresh?.leaseToken });
    expect(await completeDelivery(db(), fresh!, { status: 204, error: null })).toBe("delivered");
  });

  it("forgets delivered rows after their days and keeps pending ones", async () => {
    const { row } = await queued("OLD");
    const claimed = await claimOne(row.id);
    await completeDelivery(db(), claimed!, { status: 200, error: null });
    await db().execute(sql`update webhook_deliveries set finished_at = now() - interval '8 days' where id = ${row.id}`);
    const pending = await queued("NEW");
    expect(await pruneDeliveries(db(), { deliveredDays: 7, deadDays: 30 })).toBeGreaterThanOrEqual(1);
    expect(await db().select().from(webhookDeliveries).where(eq(webhookDeliveries.id, row.id))).toEqual([]);
    expect(await db().select().from(webhookDeliveries).where(eq(webhookDeliveries.id, pending.row.id))).toHaveLength(1);
  });
});
