import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { open, parseKeyring, seal } from "@switchyard/crypto";
import { dataKeys } from "@switchyard/db";
import { describeEachDriver } from "../../../test/support/databases.ts";
import { createDataKeyStore, dataKeyAad, rotateDataKeys } from "./data-keys.ts";

const keyring = (spec: string) => {
  const parsed = parseKeyring({ masterKeys: spec });
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
};
const k1 = `k1:${randomBytes(32).toString("base64")}`;
const k2 = `k2:${randomBytes(32).toString("base64")}`;

describeEachDriver("data keys", (ctx) => {
  it("creates one data key per scope even when many stores race for it", async () => {
    const ref = { scope: "app" as const, scopeId: "app_race" };
    const keys = await Promise.all(Array.from({ length: 8 }, () => createDataKeyStore({ keyring: keyring(k1) }).getOrCreate(ctx.database.db, ref)));
    expect(new Set(keys.map((k) => k.id)).size).toBe(1);
    const rows = await ctx.database.db.select().from(dataKeys).where(eq(dataKeys.scopeId, "app_race"));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.masterKeyId).toBe("k1");
  });

  it("stores data keys wrapped, bound to their id and scope", async () => {
    const store = createDataKeyStore({ keyring: keyring(k1) });
    const ref = { scope: "workspace" as const, scopeId: "ws_bound" };
    const key = await store.getOrCreate(ctx.database.db, ref);
    const [row] = await ctx.database.db.select().from(dataKeys).where(eq(dataKeys.id, key.id));
    expect(row!.wrapped.includes(key.exportBytes())).toBe(false);
    // Moved to another scope, the wrapped key no longer opens.
    await ctx.database.db.update(dataKeys).set({ scopeId: "ws_elsewhere" }).where(eq(dataKeys.id, key.id));
    await expect(createDataKeyStore({ keyring: keyring(k1) }).find(ctx.database.db, { scope: "workspace", scopeId: "ws_elsewhere" })).rejects.toThrow();
    await ctx.database.db.update(dataKeys).set({ scopeId: "ws_bound" }).where(eq(dataKeys.id, key.id));
    expect(await createDataKeyStore({ keyring: keyring(k1) }).find(ctx.database.db, ref)).toMatchObject({ id: key.id });
    expect(dataKeyAad(key.id, ref)).toContain(key.id);
  });

  it("rotation re-wraps under the active key without changing the data key", async () => {
    const ref = { scope: "global" as const, scopeId: "" };
    const before = await createDataKeyStore({ keyring: keyring(k1) }).getOrCreate(ctx.database.db, ref);
    const sealed = seal(before, Buffer.from("value"), "aad");
    const dry = await rotateDataKeys(ctx.database.db, keyring(`${k2},${k1}`), { dryRun: true });
    expect(dry.rewrapped).toBeGreaterThan(0);
    const report = await rotateDataKeys(ctx.database.db, keyring(`${k2},${k1}`));
    expect(report.rewrapped).toBe(dry.rewrapped);
    expect(report.failed).toEqual([]);
    const after = await createDataKeyStore({ keyring: keyring(k2) }).find(ctx.database.db, ref);
    expect(open(after!, sealed, "aad").toString()).toBe("value");
    expect((await rotateDataKeys(ctx.database.db, keyring(`${k2},${k1}`))).rewrapped).toBe(0);
  });
});
