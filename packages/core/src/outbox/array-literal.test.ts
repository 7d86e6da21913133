import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { resultRows } from "@switchyard/db";
import { describeEachDriver } from "../../../../test/support/databases.ts";
import { arrayLiteral, jsonElement } from "./array-literal.ts";

describeEachDriver("array literals", (ctx) => {
  it("bring any text back as it was, null as SQL NULL", async () => {
    const values = ["plain", "a,b", "{braces}", 'say "hi"', "back\\slash\\", "", "NULL", "null", "  spaced  ", "line\nbreak\ttab", "ünïcödé ✓ 😀", '\\"', null];
    const rows = resultRows<{ v: string | null }>(await ctx.database.db.execute(sql`select unnest(${arrayLiteral(values)}::text::text[]) as v`));
    expect(rows.map((r) => r.v)).toEqual(values);
  });

  it("carry JSON values into jsonb[] and numbers into int[]", async () => {
    const json = [{ s: 'a"b\\c', n: [1, { deep: "}{," }] }, "a string", [], null, 0];
    const rows = resultRows<{ j: unknown; n: number | null }>(
      await ctx.database.db.execute(sql`
        select j, n from unnest(${arrayLiteral(json.map(jsonElement))}::text::jsonb[], ${arrayLiteral([1, -2, 3, null, 2 ** 31 - 1])}::text::int[]) as t(j, n)`),
    );
    // 0 is a JSON value, not SQL NULL; only null and undefined become NULL.
    expect(rows.map((r) => r.j)).toEqual(json);
    expect(rows.map((r) => r.n)).toEqual([1, -2, 3, null, 2 ** 31 - 1]);
  });
});
