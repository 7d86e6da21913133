import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { CryptoError, Keyring, open, parseKeyring, seal, type KeyEncryptionProvider } from "@switchyard/crypto";
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

// Written by the code before key providers existed (keyring entry
// `prod-2024:<LEGACY.master>`), frozen here: a data key row and a value sealed
// with it, as an existing database holds them.
const LEGACY = {
  master: "gnplPmtjhj9+7QKfjpIkTIW9JKukLlzbIDEegNC9Wjk=",
  wrapped: "AQlwcm9kLTIwMjTpT00FHYp65UbIHDnr+M3iIKxYtFyJwQUEger3ZJaSS0TjV82dl06DOgbMzEaeshpuZBI5K5q9Jzcn5eU=",
  value: "AQtka19sZWdhY3kwMd6ZV+4dlF4QIShu2Ax4VJ6Fk4JiT9RMaF28PxAEWUp2MAh6/5qG/+bzazj8Ru1F8ZzBtkBni+nREZI=",
};

describeEachDriver("data keys", (ctx) => {
  it("opens a data key row written before key providers existed, and keeps its stored format", async () => {
    const ref = { scope: "app" as const, scopeId: "app_legacy" };
    await ctx.database.db.insert(dataKeys).values({ id: "dk_legacy01", ...ref, wrapped: Buffer.from(LEGACY.wrapped, "base64"), masterKeyId: "prod-2024" });
    const store = createDataKeyStore({ keyring: keyring(`prod-2024:${LEGACY.master}`) });
    const key = await store.find(ctx.database.db, ref);
    expect(JSON.parse(open(key!, Buffer.from(LEGACY.value, "base64"), "fixture|app_legacy|DB_PASSWORD").toString())).toEqual({ password: "kept-since-v0.1" });
    // A key written now has the same layout: version 1, the key id, nonce, ciphertext, tag.
    const fresh = await store.getOrCreate(ctx.database.db, { scope: "app", scopeId: "app_new" });
    const [row] = await ctx.database.db.select().from(dataKeys).where(eq(dataKeys.id, fresh.id));
    expect(row!.masterKeyId).toBe("prod-2024");
    expect(row!.wrapped.subarray(0, 11)).toEqual(Buffer.from("\x01\x09prod-2024", "latin1"));
    expect(row!.wrapped.length).toBe(Buffer.from(LEGACY.wrapped, "base64").length);
    // The file shares one database: leave no key under a master key the other tests do not hold.
    await ctx.database.db.delete(dataKeys).where(eq(dataKeys.masterKeyId, "prod-2024"));
  });

  it("a primed key is unwrapped once and awaited by the read; a failed unwrap is not cached", async () => {
    const ref = { scope: "workspace" as const, scopeId: "ws_prime" };
    const key = await createDataKeyStore({ keyring: keyring(k1) }).getOrCreate(ctx.database.db, ref);
    const [row] = await ctx.database.db.select().from(dataKeys).where(eq(dataKeys.id, key.id));
    const store = createDataKeyStore({ keyring: keyring(k1) });
    store.prime(ref, row!);
    expect((await store.find(ctx.database.db, ref))?.id).toBe(key.id);
    // A row whose wrapping does not open: the read reports it, and nothing stays cached.
    const broken = createDataKeyStore({ keyring: keyring(k2) });
    broken.prime(ref, row!);
    await expect(broken.find(ctx.database.db, ref)).rejects.toThrow(expect.objectContaining({ code: "unknown_key_id" }));
    // A provider that fails once (an HSM restarting): that read fails, the next one asks again and opens.
    const [real] = keyring(k1).providers;
    let outages = 1;
    const flaky: KeyEncryptionProvider = {
      id: real!.id,
      kind: "test",
      wrap: (plaintext, aad) => real!.wrap(plaintext, aad),
      unwrap: async (wrapped, aad) => {
        if (outages-- > 0) throw new CryptoError("provider_failed", "the token is not there");
        return real!.unwrap(wrapped, aad);
      },
    };
    const recovering = createDataKeyStore({ keyring: Keyring.fromProviders([flaky]) });
    recovering.prime(ref, row!);
    await expect(recovering.find(ctx.database.db, ref)).rejects.toThrow(expect.objectContaining({ code: "provider_failed" }));
    expect((await recovering.find(ctx.database.db, ref))?.id).toBe(key.id);
  });

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
