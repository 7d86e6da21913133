import { eq, sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { describeEachDriver } from "../../../test/support/databases.ts";
import { notifyIn } from "./connect.ts";
import { migrate, pendingMigrations } from "./migrate.ts";
import { resultRows } from "./rows.ts";
import { dataKeys, workspaces } from "./schema/index.ts";

const waitFor = async (check: () => boolean, ms = 2000) => {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 5));
  }
};

describeEachDriver("storage", (ctx) => {
  it("has every migration applied and a default workspace", async () => {
    expect(await pendingMigrations(ctx.database.db)).toEqual([]);
    const rows = await ctx.database.db.select().from(workspaces).where(eq(workspaces.name, "default"));
    expect(rows).toHaveLength(1);
  });

  it("keeps half of each outbox page free, so claims update rows in place", async () => {
    const rows = resultRows<{ reloptions: string[] | null }>(await ctx.database.db.execute(sql`select reloptions from pg_class where relname = 'outbox'`));
    expect(rows[0]?.reloptions).toContain("fillfactor=50");
  });

  it("indexes only the runs that did not end ok, and lists an app's failed runs through that index", async () => {
    const db = ctx.database.db;
    const defs = resultRows<{ indexname: string; indexdef: string }>(await db.execute(sql`select indexname, indexdef from pg_indexes where tablename = 'runs'`));
    expect(defs.map((d) => d.indexname)).not.toContain("runs_app_status");
    expect(defs.find((d) => d.indexname === "runs_app_not_ok")?.indexdef).toMatch(/WHERE \(status <> 'ok'::text\)/);
    // The planner must see that status = 'error' implies the index's predicate.
    const plan = await db.transaction(async (tx) => {
      await tx.execute(sql`set local enable_seqscan = off`);
      return resultRows<Record<string, string>>(
        await tx.execute(sql`explain select id from runs where app_id = 'app_x' and status = 'error' order by started_at desc limit 50`),
      );
    });
    expect(plan.map((row) => Object.values(row).join(" ")).join("\n")).toContain("runs_app_not_ok");
  });

  it("migrating again applies nothing", async () => {
    const report = await migrate(ctx.database.db);
    expect(report.applied).toEqual([]);
    expect(report.alreadyApplied).toBeGreaterThan(0);
  });

  it("stores bytea as Buffers that round-trip byte for byte", async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 254, 0, 10, 13]);
    await ctx.database.db
      .insert(dataKeys)
      .values({ id: "dk_roundtrip", scope: "global", scopeId: "", wrapped: bytes, masterKeyId: "k1" });
    const [row] = await ctx.database.db.select().from(dataKeys).where(eq(dataKeys.id, "dk_roundtrip"));
    expect(Buffer.isBuffer(row?.wrapped)).toBe(true);
    expect(row?.wrapped.equals(bytes)).toBe(true);
    expect(row?.createdAt).toBeInstanceOf(Date);
  });

  it("delivers NOTIFY to listeners", async () => {
    const seen: string[] = [];
    const stop = await ctx.database.listen("sy_test_channel", (p) => seen.push(p));
    await ctx.database.notify("sy_test_channel", "hello");
    await waitFor(() => seen.length === 1);
    expect(seen).toEqual(["hello"]);
    await stop();
  });

  it("sends a NOTIFY made in a transaction only when it commits", async () => {
    const seen: string[] = [];
    const stop = await ctx.database.listen("sy_tx_channel", (p) => seen.push(p));
    await ctx.database.db
      .transaction(async (tx) => {
        await notifyIn(tx, "sy_tx_channel", "rolled-back");
        throw new Error("roll back");
      })
      .catch(() => {});
    await ctx.database.db.transaction(async (tx) => notifyIn(tx, "sy_tx_channel", "committed"));
    await waitFor(() => seen.length >= 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual(["committed"]);
    await stop();
  });

  it("answers raw SQL through one row shape on both drivers", async () => {
    const rows = resultRows<{ n: number }>(await ctx.database.db.execute(sql`select 41 + 1 as n`));
    expect(rows).toEqual([{ n: 42 }]);
  });

  it("refuses a second app of the same name in one workspace", async () => {
    const { apps } = await import("./schema/index.ts");
    await ctx.database.db.insert(apps).values({ id: "app_a1", workspaceId: "ws_default", name: "dup" });
    await expect(
      ctx.database.db.insert(apps).values({ id: "app_a2", workspaceId: "ws_default", name: "dup" }),
    ).rejects.toThrow();
  });
});
