import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { connect, resultRows } from "@switchyard/db";
import { describeEachDriver } from "../../../../test/support/databases.ts";
import { executePrepared, executeSerialized } from "./prepared.ts";

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

  it("leaves a caller's transaction its own settings once a serialised statement is done", async () => {
    const settings = async (tx: typeof ctx.database.db) =>
      resultRows(
        await tx.execute(
          sql`select current_setting('idle_in_transaction_session_timeout') as idle, current_setting('lock_timeout') as lock_timeout, current_setting('jit') as jit, current_setting('plan_cache_mode') as plan`,
        ),
      );
    await db().transaction(async (tx) => {
      await tx.execute(sql`set local lock_timeout = '7s'`);
      const before = await settings(tx);
      const answer = resultRows(await executeSerialized(tx, 17n, sql`select current_setting('lock_timeout') as inside`));
      // Inside, the statement ran with the claim's settings.
      expect(answer).toEqual([{ inside: "2s" }]);
      expect(await settings(tx)).toEqual(before);
      expect(before).toMatchObject([{ lock_timeout: "7s" }]);
    });
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
