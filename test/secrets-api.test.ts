import { and, eq } from "drizzle-orm";
import { beforeAll, expect, it } from "vitest";
import { secrets as secretsTable, secretVersions } from "@switchyard/db";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor, type TestApp } from "./support/manager.ts";

type Client = ReturnType<typeof client>;
const LONG = "sk_live_0123456789abcdefghij";

describeEachDriver("secrets vault over the admin API", (ctx) => {
  let app: TestApp;
  let admin: Client;
  let built: Awaited<ReturnType<typeof managerFor>>;
  let appA: { id: string; workspace_id: string };
  let appB: { id: string };
  const base = (id: string) => `/api/v1/admin/apps/${id}`;
  const token = async (scopes: string[], workspace_id?: string) =>
    client(app, (await admin.post("/api/v1/admin/tokens", { name: "t", scopes, ...(workspace_id ? { workspace_id } : {}) })).json.token);

  beforeAll(async () => {
    built = await managerFor(ctx.database, { settings: { secretMaxBytes: 256, secretVersionsKept: 4 } });
    app = built.app;
    admin = client(app, built.adminToken!);
    appA = (await admin.post("/api/v1/admin/apps", { name: "alpha" })).json as never;
    appB = (await admin.post("/api/v1/admin/apps", { name: "beta" })).json as never;
  });

  it("sets any JSON value, answers 201 then 200, and reveals it with its type", async () => {
    for (const [name, value] of [["S_STRING", "plain"], ["S_OBJ", { a: [1, true, null] }], ["S_NUM", 42], ["S_BOOL", false]] as const) {
      const first = await admin.post(`${base(appA.id)}/secrets`, { name, value });
      expect(first.status).toBe(201);
      expect(first.json).toMatchObject({ name, version: 1, scope: "app" });
      const reveal = await admin.post(`${base(appA.id)}/secrets/${name}/reveal`);
      expect(reveal.json.value).toEqual(value);
    }
    const again = await admin.post(`${base(appA.id)}/secrets`, { name: "S_STRING", value: "plain2" });
    expect(again.status).toBe(200);
    expect(again.json.version).toBe(2);
  });

  it("lists names, scopes and versions but never values", async () => {
    await admin.post(`${base(appA.id)}/secrets`, { name: "LISTED", value: LONG });
    const res = await admin.get(`${base(appA.id)}/secrets`);
    expect(res.status).toBe(200);
    expect(res.json.secrets.find((s: { name: string }) => s.name === "LISTED")).toMatchObject({ scope: "app", version: 1 });
    expect(JSON.stringify(res.json)).not.toContain(LONG);
    expect(JSON.stringify(res.json)).not.toContain("plain2");
  });

  it("shows metadata with a masked preview: nothing of short values, 4 characters of long ones", async () => {
    await admin.post(`${base(appA.id)}/secrets`, { name: "SHORT", value: "hunter2abc" });
    const short = await admin.get(`${base(appA.id)}/secrets/SHORT`);
    expect(short.json.preview).toBe("••••••••");
    expect(short.json.size).toBe(JSON.stringify("hunter2abc").length);
    const long = await admin.get(`${base(appA.id)}/secrets/LISTED`);
    expect(long.json.preview).toBe("sk_l••••••••");
    expect(JSON.stringify(long.json)).not.toContain(LONG);
  });

  it("refuses bad names with 400 and oversized values with 413 naming limit and size, storing nothing", async () => {
    for (const name of ["1ABC", "has-dash", "", "A".repeat(129), "white space"]) {
      const res = await admin.post(`${base(appA.id)}/secrets`, { name, value: "x" });
      expect(res.status, name).toBe(400);
      expect(res.json.error.code).toBe("invalid_input");
    }
    const big = await admin.post(`${base(appA.id)}/secrets`, { name: "BIG", value: "x".repeat(300) });
    expect(big.status).toBe(413);
    expect(big.json.error).toMatchObject({ code: "too_large", details: { limit: 256, size: 302 } });
    expect((await admin.get(`${base(appA.id)}/secrets/BIG`)).status).toBe(404);
    expect((await admin.post(`${base(appA.id)}/secrets`, { name: "NUL", value: null })).status).toBe(400);
    expect((await admin.post(`${base(appA.id)}/secrets`, { name: "NOVAL" })).status).toBe(400);
  });

  it("resolves app, then workspace, then global, and says which scope won", async () => {
    const ws = appA.workspace_id;
    await admin.post(`/api/v1/admin/global/secrets`, { name: "LAYERED", value: "global" });
    await admin.post(`/api/v1/admin/workspaces/${ws}/secrets`, { name: "LAYERED", value: "workspace" });
    await admin.post(`${base(appA.id)}/secrets`, { name: "LAYERED", value: "app" });
    const listed = (await admin.get(`${base(appA.id)}/secrets`)).json.secrets.find((s: { name: string }) => s.name === "LAYERED");
    expect(listed).toMatchObject({ scope: "app", overrides: ["workspace", "global"] });
    const run = { type: "run" as const, id: "run_layer", appId: appA.id };
    expect(await built.secrets.resolveSecret(appA.id, "LAYERED", run)).toMatchObject({ value: "app", scope: "app" });
    expect((await admin.delete(`${base(appA.id)}/secrets/LAYERED`)).status).toBe(204);
    expect((await admin.post(`${base(appA.id)}/secrets/LAYERED/reveal`)).json).toMatchObject({ value: "workspace", scope: "workspace" });
    expect(await built.secrets.resolveSecret(appA.id, "LAYERED", run)).toMatchObject({ value: "workspace", scope: "workspace" });
    // Deleting at the app path does not reach the inherited secret: it says where it lives.
    const inherited = await admin.delete(`${base(appA.id)}/secrets/LAYERED`);
    expect(inherited.status).toBe(404);
    expect(inherited.json.error.message).toMatch(/inherited from the workspace scope/);
    await admin.delete(`/api/v1/admin/workspaces/${ws}/secrets/LAYERED`);
    expect((await built.secrets.listSecretNames(appA.id)).find((n) => n.name === "LAYERED")).toEqual({ name: "LAYERED", scope: "global" });
    expect(await built.secrets.resolveSecret(appB.id, "LAYERED", { type: "run", id: "run_b", appId: appB.id })).toMatchObject({ value: "global" });
    expect(await built.secrets.resolveSecret(appA.id, "NEVER_SET", run)).toBeNull();
  });

  it("keeps versions as metadata, rolls back as a new version, and prunes beyond the retention count", async () => {
    for (const v of ["v1", "v2", "v3"]) await admin.post(`${base(appA.id)}/secrets`, { name: "ROLL", value: v });
    const versions = await admin.get(`${base(appA.id)}/secrets/ROLL/versions`);
    expect(versions.json.versions.map((v: { version: number }) => v.version)).toEqual([3, 2, 1]);
    expect(JSON.stringify(versions.json)).not.toMatch(/"v[123]"/);
    const rolled = await admin.post(`${base(appA.id)}/secrets/ROLL/rollback`, { version: 1 });
    expect(rolled.json).toMatchObject({ version: 4, rolled_back_to: 1 });
    expect((await admin.post(`${base(appA.id)}/secrets/ROLL/reveal`)).json.value).toBe("v1");
    expect((await admin.post(`${base(appA.id)}/secrets/ROLL/rollback`, { version: 99 })).status).toBe(404);
    await admin.post(`${base(appA.id)}/secrets`, { name: "ROLL", value: "v5" });
    const kept = (await admin.get(`${base(appA.id)}/secrets/ROLL/versions`)).json.versions;
    expect(kept.map((v: { version: number }) => v.version)).toEqual([5, 4, 3, 2]);
    expect(kept[0].current).toBe(true);
    expect(kept[1].origin).toBe("rollback:1");
  });

  it("imports dotenv as created / updated / unchanged, previews with dry_run, and rejects a file with one bad line whole", async () => {
    await admin.post(`${base(appB.id)}/secrets`, { name: "KEEP", value: "same" });
    await admin.post(`${base(appB.id)}/secrets`, { name: "CHANGE", value: "old" });
    const file = "# comment\nKEEP=same\nexport CHANGE=\"new\\nline\"\nFRESH='lit $x'\nSPACED = value # trailing\n";
    const post = (text: string, dry = false) =>
      admin.call("POST", `${base(appB.id)}/secret-imports${dry ? "?dry_run=true" : ""}`, text, { "content-type": "text/plain" });
    const preview = await post(file, true);
    expect(preview.json).toMatchObject({ dry_run: true, created: 2, updated: 1, unchanged: 1 });
    expect((await admin.get(`${base(appB.id)}/secrets/FRESH`)).status).toBe(404);
    const done = await post(file);
    expect(done.json.results).toEqual([
      { name: "KEEP", status: "unchanged", line: 2 },
      { name: "CHANGE", status: "updated", line: 3 },
      { name: "FRESH", status: "created", line: 4 },
      { name: "SPACED", status: "created", line: 5 },
    ]);
    const reveal = async (n: string) => (await admin.post(`${base(appB.id)}/secrets/${n}/reveal`)).json.value;
    expect(await reveal("CHANGE")).toBe("new\nline");
    expect(await reveal("FRESH")).toBe("lit $x");
    expect(await reveal("SPACED")).toBe("value");
    const bad = await post("GOOD_ONE=1\nthis line is wrong\nOTHER=2\n");
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/^line 2: /);
    expect((await admin.get(`${base(appB.id)}/secrets/GOOD_ONE`)).status).toBe(404);
    expect((await post("A=1\nA=2\n")).json.error.message).toMatch(/line 2: A was already set on line 1/);
  });

  it("refuses a reveal without secrets:reveal, and audits the denial", async () => {
    const reader = await token(["secrets:read"]);
    await admin.post(`${base(appA.id)}/secrets`, { name: "GUARDED", value: LONG });
    expect((await reader.get(`${base(appA.id)}/secrets`)).status).toBe(200);
    const res = await reader.post(`${base(appA.id)}/secrets/GUARDED/reveal`);
    expect(res.status).toBe(403);
    expect(JSON.stringify(res.json)).not.toContain(LONG);
    const audit = await admin.get(`${base(appA.id)}/audit?action=secret.reveal&name=GUARDED`);
    expect(audit.json.audit[0]).toMatchObject({ outcome: "denied", details: { reason: "missing_scope" }, actor_type: "token" });
    const writer = await token(["secrets:write"]);
    expect((await writer.post(`${base(appA.id)}/secrets`, { name: "W", value: 1 })).status).toBe(201);
    expect((await writer.get(`${base(appA.id)}/secrets`)).status).toBe(403);
  });

  it("keeps a workspace A token out of workspace B's secrets, auditing the denial", async () => {
    const wsA = (await admin.post("/api/v1/admin/workspaces", { name: "vault-a" })).json;
    const wsB = (await admin.post("/api/v1/admin/workspaces", { name: "vault-b" })).json;
    const bApp = (await admin.post("/api/v1/admin/apps", { name: "b-vault", workspace_id: wsB.id })).json;
    await admin.post(`${base(bApp.id)}/secrets`, { name: "B_SECRET", value: LONG });
    await admin.post(`/api/v1/admin/workspaces/${wsB.id}/secrets`, { name: "B_WS", value: LONG });
    const a = await token(["admin"], wsA.id);
    for (const res of [
      await a.post(`${base(bApp.id)}/secrets/B_SECRET/reveal`),
      await a.get(`${base(bApp.id)}/secrets`),
      await a.post(`/api/v1/admin/workspaces/${wsB.id}/secrets/B_WS/reveal`),
      await a.post(`${base(bApp.id)}/secrets`, { name: "B_SECRET", value: "overwrite" }),
    ]) {
      expect(res.status).toBe(404);
      expect(JSON.stringify(res.json)).not.toContain(LONG);
    }
    expect((await a.get("/api/v1/admin/global/secrets")).status).toBe(403);
    const audit = await admin.get(`${base(bApp.id)}/audit?name=B_SECRET`);
    const denied = audit.json.audit.filter((r: { outcome: string }) => r.outcome === "denied");
    expect(denied.map((r: { action: string }) => r.action).sort()).toEqual(["secret.reveal", "secret.set"]);
    expect(denied[0].details.reason).toBe("other_workspace");
    expect((await admin.post(`${base(bApp.id)}/secrets/B_SECRET/reveal`)).json.value).toBe(LONG);
  });

  it("fails to open a sealed value copied to another app, name, scope or version", async () => {
    await admin.post(`${base(appA.id)}/secrets`, { name: "COPY_SRC", value: LONG });
    await admin.post(`${base(appB.id)}/secrets`, { name: "COPY_SRC", value: "b-own" });
    await admin.post(`${base(appA.id)}/secrets`, { name: "COPY_DST", value: "a-other" });
    await admin.post(`/api/v1/admin/workspaces/${appA.workspace_id}/secrets`, { name: "COPY_SRC", value: "ws-own" });
    const db = ctx.database.db;
    const rowOf = async (scope: "app" | "workspace", scopeId: string, name: string) =>
      (await db.select().from(secretsTable).where(and(eq(secretsTable.scope, scope), eq(secretsTable.scopeId, scopeId), eq(secretsTable.name, name))))[0]!;
    const src = await rowOf("app", appA.id, "COPY_SRC");
    const paste = async (scope: "app" | "workspace", scopeId: string, name: string, extra: Partial<typeof src> = {}) => {
      const target = await rowOf(scope, scopeId, name);
      await db.update(secretsTable).set({ ciphertext: src.ciphertext, dataKeyId: src.dataKeyId, version: src.version, ...extra }).where(eq(secretsTable.id, target.id));
    };
    built.secrets.clearCache();
    await paste("app", appB.id, "COPY_SRC");
    await paste("app", appA.id, "COPY_DST");
    await paste("workspace", appA.workspace_id, "COPY_SRC");
    const expectRefused = async (res: { status: number; json: any }) => {
      expect(res.status).toBe(500);
      expect(res.json.error.code).toBe("decrypt_failed");
      expect(JSON.stringify(res.json)).not.toContain(LONG);
    };
    await expectRefused(await admin.post(`${base(appB.id)}/secrets/COPY_SRC/reveal`));
    await expectRefused(await admin.post(`${base(appA.id)}/secrets/COPY_DST/reveal`));
    await expectRefused(await admin.post(`/api/v1/admin/workspaces/${appA.workspace_id}/secrets/COPY_SRC/reveal`));
    await expect(built.secrets.resolveSecret(appB.id, "COPY_SRC", { type: "run", id: "r", appId: appB.id })).rejects.toMatchObject({ code: "decrypt_failed" });
    // Same row, claimed to be another version: the version is bound too.
    await db.update(secretsTable).set({ version: src.version + 1 }).where(eq(secretsTable.id, src.id));
    built.secrets.clearCache();
    await expectRefused(await admin.post(`${base(appA.id)}/secrets/COPY_SRC/reveal`));
    const versionRows = await db.select().from(secretVersions).where(eq(secretVersions.secretId, src.id));
    expect(versionRows.length).toBeGreaterThan(0);
  });

  it("writes audit rows for every write, reveal, rollback, delete and import, with no values", async () => {
    const secretValue = "audit-me-please-0123456789";
    await admin.post(`${base(appB.id)}/secrets`, { name: "AUDITED", value: secretValue });
    await admin.post(`${base(appB.id)}/secrets`, { name: "AUDITED", value: `${secretValue}-2` });
    await admin.post(`${base(appB.id)}/secrets/AUDITED/reveal`);
    await admin.post(`${base(appB.id)}/secrets/AUDITED/rollback`, { version: 1 });
    await admin.call("POST", `${base(appB.id)}/secret-imports`, `AUDITED=${secretValue}-3\n`, { "content-type": "text/plain" });
    await built.secrets.resolveSecret(appB.id, "AUDITED", { type: "run", id: "run_audit", appId: appB.id });
    await built.secrets.resolveSecret(appB.id, "AUDITED", { type: "run", id: "run_audit", appId: appB.id });
    await admin.delete(`${base(appB.id)}/secrets/AUDITED`);
    const rows = (await admin.get(`${base(appB.id)}/audit?name=AUDITED`)).json.audit;
    expect(rows.map((r: { action: string }) => r.action).reverse()).toEqual([
      "secret.set",
      "secret.set",
      "secret.reveal",
      "secret.rollback",
      "secret.import",
      "secret.read",
      "secret.delete",
    ]);
    const read = rows.find((r: { action: string }) => r.action === "secret.read");
    expect(read).toMatchObject({ actor_type: "run", actor_id: "run_audit", scope: "app", version: 4, outcome: "ok" });
    expect(rows.every((r: { outcome: string }) => r.outcome === "ok")).toBe(true);
    expect(JSON.stringify(rows)).not.toContain(secretValue);
    const filtered = (await admin.get(`${base(appB.id)}/audit?action=secret.delete`)).json.audit;
    expect(filtered.every((r: { action: string }) => r.action === "secret.delete")).toBe(true);
  });
});
