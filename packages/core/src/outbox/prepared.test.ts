import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { connect, resultRows } from "@switchyard/db";
import { describeEachDriver } from "../../../../test/support/databases.ts";
import { executePrepared } from "./prepared.ts";

describeEachDriver("executePrepared", (ctx) => {
  const db = () => ctx.database.db;

  it("answers rows as db.execute does, and a failure with the driver's error as its cause", async () => {
    const query = sql`select ${7}::int as n, ${"x"}::text as s, '2020-01-02T03:04:05Z'::timestamptz as at`;
    const prepared = resultRows(await executePrepared(db(), "test_rows", query));
    expect(prepared).toEqual(resultRows(await db().execute(query)));
    expect(prepared).toHaveLength(1);
    const failed = await executePrepared(db(), "test_fails", sql`select 1 / ${0}::int`).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(Error);
    expect(String((failed as { cause?: unknown }).cause)).toMatch(/division by zero/);
  });

  it("keeps a transaction's statement in the transaction: rolled back, it never happened", async () => {
    await db().execute(sql`create table if not exists prepared_probe (n int)`);
    await db()
      .transaction(async (tx) => {
        await executePrepared(tx, "test_probe", sql`insert into prepared_probe (n) values (${1})`);
        tx.rollback();
      })
      .catch(() => {});
    expect(resultRows(await db().execute(sql`select n from prepared_probe`))).toEqual([]);
  });

  it("prepares the statement on the connection that runs it (PostgreSQL)", async () => {
    if (ctx.driver !== "postgres") return;
    const one = await connect({ url: ctx.url!, poolSize: 1 });
    try {
      await executePrepared(one.db, "test_prepared", sql`select ${42}::int as prepared_probe_answer`);
      const statements = resultRows<{ statement: string }>(await one.db.execute(sql`select statement from pg_prepared_statements`));
      expect(statements.map((s) => s.statement)).toContainEqual(expect.stringContaining("prepared_probe_answer"));
    } finally {
      await one.close();
    }
  });
});
