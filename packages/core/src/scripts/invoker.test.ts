import { eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { outbox } from "@switchyard/db";
import { describeEachDriver } from "../../../../test/support/databases.ts";
import { ForbiddenError } from "../errors.ts";
import { createApp } from "../tenancy.ts";
import { createManualInvoker } from "./invoker.ts";
import type { Script } from "./service.ts";

const SYSTEM = { type: "system" as const, id: "test" };

describeEachDriver("manual invoker", (ctx) => {
  it("enqueues one manual event carrying the payload, by the principal, and answers its id", async () => {
    const app = await createApp(ctx.database.db, SYSTEM, { name: "invoked" });
    const invoker = createManualInvoker({
      database: ctx.database,
      scripts: { forInvoke: async () => ({ app, script: { id: "scr_invoked" } as Script }) },
    });
    const { event_id } = await invoker.invoke({ type: "system", id: "tok_caller" }, "invoked", "welcome", { n: 21 });
    const rows = await ctx.database.db.select().from(outbox).where(eq(outbox.appId, app.id));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: event_id, scriptId: "scr_invoked", kind: "manual", event: { kind: "manual", payload: { n: 21 } }, origin: "tok_caller", triggerId: null });
  });

  it("enqueues nothing when the caller may not invoke the script", async () => {
    const app = await createApp(ctx.database.db, SYSTEM, { name: "refused" });
    const invoker = createManualInvoker({
      database: ctx.database,
      scripts: {
        forInvoke: () => Promise.reject(new ForbiddenError("this token lacks the scripts:write scope", { required: "scripts:write" })),
      },
    });
    await expect(invoker.invoke({ type: "system", id: "tok_caller" }, "refused", "welcome", null)).rejects.toBeInstanceOf(ForbiddenError);
    expect(await ctx.database.db.select().from(outbox).where(eq(outbox.appId, app.id))).toEqual([]);
  });
});
