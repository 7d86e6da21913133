import { and, eq } from "drizzle-orm";
import { beforeAll, expect, it } from "vitest";
import { secrets as secretsTable, secretVersions } from "@switchyard/db";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor, type TestApp } from "./support/manager.ts";

// Host bindings in the vault and the admin API (issue #16): how a binding is
// set, shown, kept, rolled back and imported; that it is sealed into the
// value's associated data, so a binding edited in the database fails closed;
// and that only a token that may reveal loosens the binding of a stored value.

type Client = ReturnType<typeof client>;
type Answer = { status: number; json: Record<string, any> };
const VALUE = "sk_live_bound_0123456789abcdef";

describeEachDriver("host-bound secrets in the vault and the admin API", (ctx) => {
  let app: TestApp;
  let admin: Client;
  let built: Awaited<ReturnType<typeof managerFor>>;
  let appId: string;
  let workspaceId: string;
  const base = () => `/api/v1/admin/apps/${appId}`;
  const token = async (scopes: string[]) => client(app, (await admin.post("/api/v1/admin/tokens", { name: "t", scopes })).json.token);
  const run = (id: string) => ({ type: "run" as const, id, appId });
  const reveal = async (name: string) => (await admin.post(`${base()}/secrets/${name}/reveal`)).json;
  const versionsOf = async (name: string) => (await admin.get(`${base()}/secrets/${name}/versions`)).json.versions as { version: number; origin: string; bound_hosts: string[] | null }[];
  const auditOf = async (name: string) => (await admin.get(`${base()}/audit?name=${name}`)).json.audit as { action: string; outcome: string; version: number; details: any }[];
  const rowOf = async (name: string) =>
    (await ctx.database.db.select().from(secretsTable).where(and(eq(secretsTable.scope, "app"), eq(secretsTable.scopeId, appId), eq(secretsTable.name, name))))[0]!;

  beforeAll(async () => {
    built = await managerFor(ctx.database);
    app = built.app;
    admin = client(app, built.adminToken!);
    const made = (await admin.post("/api/v1/admin/apps", { name: "bound" })).json;
    appId = made.id;
    workspaceId = made.workspace_id;
  });

  it("sets a binding canonical, and shows it in the answer, the list, the metadata, the versions and the read path", async () => {
    const set = await admin.post(`${base()}/secrets`, { name: "STRIPE", value: VALUE, bound_hosts: ["API.Stripe.com", "*.stripe.com:443", "api.stripe.com"] });
    expect(set.status).toBe(201);
    expect(set.json).toMatchObject({ name: "STRIPE", version: 1, bound_hosts: ["*.stripe.com:443", "api.stripe.com"] });

    await admin.post(`${base()}/secrets`, { name: "PLAIN", value: "plain-value-0123456789" });
    const listed = (await admin.get(`${base()}/secrets`)).json.secrets as { name: string }[];
    expect(listed.find((s) => s.name === "STRIPE")).toMatchObject({ bound_hosts: ["*.stripe.com:443", "api.stripe.com"] });
    expect(listed.find((s) => s.name === "PLAIN")).toMatchObject({ bound_hosts: null });

    const described = (await admin.get(`${base()}/secrets/STRIPE`)).json;
    expect(described).toMatchObject({ bound_hosts: ["*.stripe.com:443", "api.stripe.com"], preview: "(bound) ••••••••" });
    // Not one character of a bound value in its metadata (an unbound one of this length shows 4).
    expect(JSON.stringify(described)).not.toContain("sk_l");
    expect((await admin.get(`${base()}/secrets/PLAIN`)).json).toMatchObject({ bound_hosts: null, preview: "plai••••••••" });

    expect(await versionsOf("STRIPE")).toMatchObject([{ version: 1, origin: "set", bound_hosts: ["*.stripe.com:443", "api.stripe.com"] }]);
    expect(await reveal("STRIPE")).toMatchObject({ value: VALUE, bound_hosts: ["*.stripe.com:443", "api.stripe.com"] });
    expect(await built.secrets.resolveSecret(appId, "STRIPE", run("run_read"))).toEqual({
      value: VALUE,
      scope: "app",
      version: 1,
      boundHosts: ["*.stripe.com:443", "api.stripe.com"],
    });
    expect((await built.secrets.resolveSecret(appId, "PLAIN", run("run_read")))?.boundHosts).toBeNull();
    expect((await built.secrets.resolveSecretInEachScope(appId, "STRIPE", run("run_read"))).map((hit) => hit.boundHosts)).toEqual([["*.stripe.com:443", "api.stripe.com"]]);
  });

  it("binds workspace and global secrets too, each resolving with its own binding", async () => {
    const ws = await admin.post(`/api/v1/admin/workspaces/${workspaceId}/secrets`, { name: "WS_BOUND", value: "ws-value", bound_hosts: ["ws.example.com"] });
    expect(ws.status).toBe(201);
    const global = await admin.post(`/api/v1/admin/global/secrets`, { name: "GLOBAL_BOUND", value: "global-value", bound_hosts: ["[2001:DB8::1]:8443", "203.0.113.7"] });
    expect(global.json.bound_hosts).toEqual(["203.0.113.7", "[2001:db8::1]:8443"]);
    expect((await built.secrets.resolveSecret(appId, "WS_BOUND", run("run_ws")))).toMatchObject({ scope: "workspace", boundHosts: ["ws.example.com"] });
    expect((await built.secrets.resolveSecret(appId, "GLOBAL_BOUND", run("run_ws")))).toMatchObject({ scope: "global", boundHosts: ["203.0.113.7", "[2001:db8::1]:8443"] });
    expect((await admin.get(`/api/v1/admin/global/secrets/GLOBAL_BOUND/versions`)).json.versions[0].bound_hosts).toEqual(["203.0.113.7", "[2001:db8::1]:8443"]);
  });

  it("keeps the binding through a new value, makes a version and an audit row of a binding-only change, and unbinds on null", async () => {
    await admin.post(`${base()}/secrets`, { name: "ROTATE", value: "first-value", bound_hosts: ["a.example.com"] });
    const rotated = await admin.post(`${base()}/secrets`, { name: "ROTATE", value: "second-value" });
    expect(rotated.json).toMatchObject({ version: 2, bound_hosts: ["a.example.com"] });

    const rebound = await admin.post(`${base()}/secrets`, { name: "ROTATE", value: "second-value", bound_hosts: ["a.example.com", "b.example.com"] });
    expect(rebound.json).toMatchObject({ version: 3, bound_hosts: ["a.example.com", "b.example.com"] });
    expect(await reveal("ROTATE")).toMatchObject({ value: "second-value", version: 3 });
    const unbound = await admin.post(`${base()}/secrets`, { name: "ROTATE", value: "second-value", bound_hosts: null });
    expect(unbound.json).toMatchObject({ version: 4, bound_hosts: null });
    const emptied = await admin.post(`${base()}/secrets`, { name: "ROTATE", value: "second-value", bound_hosts: ["c.example.com"] });
    expect(emptied.json.bound_hosts).toEqual(["c.example.com"]);
    expect((await admin.post(`${base()}/secrets`, { name: "ROTATE", value: "second-value", bound_hosts: [] })).json.bound_hosts).toBeNull();

    expect((await versionsOf("ROTATE")).map((v) => [v.version, v.origin, v.bound_hosts])).toEqual([
      [6, "set", null],
      [5, "set", ["c.example.com"]],
      [4, "set", null],
      [3, "set", ["a.example.com", "b.example.com"]],
      [2, "set", ["a.example.com"]],
      [1, "set", ["a.example.com"]],
    ]);
    const audit = (await auditOf("ROTATE")).filter((r) => r.action === "secret.set").reverse();
    expect(audit.map((r) => [r.version, r.details])).toEqual([
      [1, { bound_hosts: ["a.example.com"], binding_changed: true }],
      [2, { bound_hosts: ["a.example.com"] }],
      [3, { bound_hosts: ["a.example.com", "b.example.com"], binding_changed: true }],
      [4, { bound_hosts: null, binding_changed: true }],
      [5, { bound_hosts: ["c.example.com"], binding_changed: true }],
      [6, { bound_hosts: null, binding_changed: true }],
    ]);
    expect(JSON.stringify(audit)).not.toContain("second-value");
  });

  it("rolls back value and binding together", async () => {
    await admin.post(`${base()}/secrets`, { name: "ROLL", value: "old-value", bound_hosts: ["old.example.com"] });
    await admin.post(`${base()}/secrets`, { name: "ROLL", value: "new-value", bound_hosts: ["new.example.com"] });
    const rolled = await admin.post(`${base()}/secrets/ROLL/rollback`, { version: 1 });
    expect(rolled.json).toMatchObject({ version: 3, rolled_back_to: 1, bound_hosts: ["old.example.com"] });
    expect(await reveal("ROLL")).toMatchObject({ value: "old-value", bound_hosts: ["old.example.com"] });
    expect((await versionsOf("ROLL"))[0]).toMatchObject({ version: 3, origin: "rollback:1", bound_hosts: ["old.example.com"] });
    const row = (await auditOf("ROLL")).find((r) => r.action === "secret.rollback");
    expect(row?.details).toEqual({ from_version: 1, bound_hosts: ["old.example.com"], binding_changed: true });
  });

  it("keeps each existing name's binding through a dotenv import", async () => {
    await admin.post(`${base()}/secrets`, { name: "IMP_BOUND", value: "before", bound_hosts: ["imp.example.com"] });
    await admin.post(`${base()}/secrets`, { name: "IMP_SAME", value: "same", bound_hosts: ["same.example.com"] });
    const done = await admin.call("POST", `${base()}/secret-imports`, "IMP_BOUND=after\nIMP_SAME=same\nIMP_NEW=fresh\n", { "content-type": "text/plain" });
    expect(done.json.results.map((r: { status: string }) => r.status)).toEqual(["updated", "unchanged", "created"]);
    expect(await reveal("IMP_BOUND")).toMatchObject({ value: "after", version: 2, bound_hosts: ["imp.example.com"] });
    expect(await reveal("IMP_SAME")).toMatchObject({ version: 1, bound_hosts: ["same.example.com"] });
    expect(await reveal("IMP_NEW")).toMatchObject({ value: "fresh", bound_hosts: null });
    expect((await versionsOf("IMP_BOUND"))[0]).toMatchObject({ version: 2, origin: "import", bound_hosts: ["imp.example.com"] });
    expect((await built.secrets.resolveSecret(appId, "IMP_BOUND", run("run_imp")))?.boundHosts).toEqual(["imp.example.com"]);
  });

  it("fails closed on a binding edited in the database: stripped, widened, or reordered, in the current row or a version", async () => {
    const db = ctx.database.db;
    const refused = (res: Answer) => {
      expect(res.status).toBe(500);
      expect(res.json.error.code).toBe("decrypt_failed");
      expect(JSON.stringify(res.json)).not.toContain("tamper-me");
    };
    for (const [name, edited] of [
      ["TAMPER_STRIP", null],
      ["TAMPER_WIDEN", ["a.example.com", "evil.example"]],
      ["TAMPER_ORDER", ["b.example.com", "a.example.com"]],
      ["TAMPER_EMPTY", []],
    ] as const) {
      await admin.post(`${base()}/secrets`, { name, value: `tamper-me-${name}`, bound_hosts: ["a.example.com", "b.example.com"] });
      const row = await rowOf(name);
      await db.update(secretsTable).set({ boundHosts: edited === null ? null : [...edited] }).where(eq(secretsTable.id, row.id));
      built.secrets.clearCache();
      await expect(built.secrets.resolveSecret(appId, name, run("run_tamper")), name).rejects.toMatchObject({ code: "decrypt_failed" });
      refused(await admin.post(`${base()}/secrets/${name}/reveal`));
      refused(await admin.get(`${base()}/secrets/${name}`));
    }
    // A version row: rolling back to it is refused, and nothing is written.
    await admin.post(`${base()}/secrets`, { name: "TAMPER_VERSION", value: "tamper-me-v1", bound_hosts: ["a.example.com"] });
    await admin.post(`${base()}/secrets`, { name: "TAMPER_VERSION", value: "other", bound_hosts: ["a.example.com"] });
    const row = await rowOf("TAMPER_VERSION");
    await db.update(secretVersions).set({ boundHosts: null }).where(and(eq(secretVersions.secretId, row.id), eq(secretVersions.version, 1)));
    refused(await admin.post(`${base()}/secrets/TAMPER_VERSION/rollback`, { version: 1 }));
    expect((await rowOf("TAMPER_VERSION")).version).toBe(2);
    // An untouched bound row, and an unbound one, still open.
    expect((await built.secrets.resolveSecret(appId, "STRIPE", run("run_tamper")))?.value).toBe(VALUE);
    expect((await built.secrets.resolveSecret(appId, "PLAIN", run("run_tamper")))?.value).toBe("plain-value-0123456789");
  });

  it("lets a token without secrets:reveal tighten a binding or set a new value, but not loosen the binding of a stored value", async () => {
    const writer = await token(["secrets:write", "secrets:read"]);
    await admin.post(`${base()}/secrets`, { name: "GUARD", value: VALUE, bound_hosts: ["api.example.com", "b.example.com"] });
    const denied = (res: Answer) => {
      expect(res.status, JSON.stringify(res.json)).toBe(403);
      expect(res.json.error).toMatchObject({ code: "forbidden", details: { required: "secrets:reveal", bound_hosts: ["api.example.com"] } });
      expect(JSON.stringify(res.json)).not.toContain(VALUE);
    };
    // Tightening the stored value's binding: allowed.
    expect((await writer.post(`${base()}/secrets`, { name: "GUARD", value: VALUE, bound_hosts: ["api.example.com"] })).json).toMatchObject({ version: 2, bound_hosts: ["api.example.com"] });
    // Loosening it, by set with the same value or by rollback: refused, and nothing is written.
    denied(await writer.post(`${base()}/secrets`, { name: "GUARD", value: VALUE, bound_hosts: null }));
    denied(await writer.post(`${base()}/secrets`, { name: "GUARD", value: VALUE, bound_hosts: [] }));
    denied(await writer.post(`${base()}/secrets`, { name: "GUARD", value: VALUE, bound_hosts: ["api.example.com", "evil.example"] }));
    denied(await writer.post(`${base()}/secrets`, { name: "GUARD", value: VALUE, bound_hosts: ["*.example.com"] }));
    denied(await writer.post(`${base()}/secrets/GUARD/rollback`, { version: 1 }));
    expect((await rowOf("GUARD")).version).toBe(2);
    const audit = (await auditOf("GUARD")).filter((r) => r.outcome === "denied");
    expect(audit.map((r) => r.action).sort()).toEqual(["secret.rollback", "secret.set", "secret.set", "secret.set", "secret.set"]);
    expect(audit.every((r) => r.details.reason === "loosens_binding")).toBe(true);

    // A value of the writer's own needs only secrets:write, with any binding.
    expect((await writer.post(`${base()}/secrets`, { name: "GUARD", value: "writers-own-value", bound_hosts: null })).json).toMatchObject({ version: 3, bound_hosts: null });
    // Rolling back to the bound value from there restores its binding: allowed.
    expect((await writer.post(`${base()}/secrets/GUARD/rollback`, { version: 2 })).json).toMatchObject({ version: 4, bound_hosts: ["api.example.com"] });
    // The value was bound to api.example.com only at v2: v1 of the same value had a looser binding. Even
    // after a new unbound value (v5) makes v1's binding no looser than the current one, rolling back to
    // v1 would widen that value's binding, so it is refused.
    await writer.post(`${base()}/secrets`, { name: "GUARD", value: "another-own-value", bound_hosts: null });
    const widened = await writer.post(`${base()}/secrets/GUARD/rollback`, { version: 1 });
    expect(widened.status).toBe(403);
    expect(widened.json.error.details).toMatchObject({ bound_hosts: ["api.example.com"], requested_bound_hosts: ["api.example.com", "b.example.com"] });
    expect((await rowOf("GUARD")).version).toBe(5);

    // A token that may reveal may loosen.
    const revealer = await token(["secrets:write", "secrets:read", "secrets:reveal"]);
    expect((await revealer.post(`${base()}/secrets/GUARD/rollback`, { version: 1 })).json).toMatchObject({ version: 6, bound_hosts: ["api.example.com", "b.example.com"] });
    expect((await revealer.post(`${base()}/secrets`, { name: "GUARD", value: VALUE, bound_hosts: null })).json).toMatchObject({ version: 7, bound_hosts: null });
  });

  it("refuses bad entries with 400 naming each, changing nothing stored, at every scope", async () => {
    await admin.post(`${base()}/secrets`, { name: "KEPT", value: "kept-value", bound_hosts: ["kept.example.com"] });
    await admin.post(`/api/v1/admin/workspaces/${workspaceId}/secrets`, { name: "KEPT", value: "kept-ws", bound_hosts: ["kept.example.com"] });
    await admin.post(`/api/v1/admin/global/secrets`, { name: "KEPT", value: "kept-global", bound_hosts: ["kept.example.com"] });
    const bases = [base(), `/api/v1/admin/workspaces/${workspaceId}`, "/api/v1/admin/global"];
    for (const at of bases) {
      for (const [hosts, path, entry] of [
        [["ok.example.com", "10.0.0.0/8"], "bound_hosts.1", "10.0.0.0/8"],
        [["https://api.example.com/v1"], "bound_hosts.0", "https://api.example.com/v1"],
        [["bad host name"], "bound_hosts.0", "bad host name"],
        [["*"], "bound_hosts.0", "*"],
        [["api.example.com:0"], "bound_hosts.0", "api.example.com:0"],
        [[""], "bound_hosts.0", ""],
      ] as const) {
        const res = await admin.post(`${at}/secrets`, { name: "KEPT", value: "changed", bound_hosts: hosts });
        expect(res.status, `${at} ${JSON.stringify(hosts)}`).toBe(400);
        expect(res.json.error.code).toBe("invalid_input");
        expect(res.json.error.details).toEqual([expect.objectContaining({ path, entry })]);
        expect(res.json.error.message).toContain(JSON.stringify(entry));
      }
      for (const body of [
        { bound_hosts: Array.from({ length: 21 }, (_, i) => `h${i}.example.com`) },
        { bound_hosts: [42] },
        { bound_hosts: "api.example.com" },
        { bound_hosts: ["x".repeat(301)] },
      ]) {
        const res = await admin.post(`${at}/secrets`, { name: "KEPT", value: "changed", ...body });
        expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
        expect(res.json.error.code).toBe("invalid_input");
      }
      // A new name with a bad binding is not created either.
      expect((await admin.post(`${at}/secrets`, { name: "NEVER", value: "x", bound_hosts: ["10.0.0.0/8"] })).status).toBe(400);
      expect((await admin.get(`${at}/secrets/NEVER`)).status).toBe(404);
      const versions = (await admin.get(`${at}/secrets/KEPT/versions`)).json.versions;
      expect(versions.map((v: { version: number; bound_hosts: string[] }) => [v.version, v.bound_hosts])).toEqual([[1, ["kept.example.com"]]]);
    }
    expect(await reveal("KEPT")).toMatchObject({ value: "kept-value", version: 1 });
  });

  it("documents bound_hosts in the OpenAPI request and answer schemas", async () => {
    const doc = (await client(app, null).get("/api/v1/openapi.json")).json;
    for (const path of ["/api/v1/admin/apps/{appId}/secrets", "/api/v1/admin/workspaces/{workspaceId}/secrets", "/api/v1/admin/global/secrets"]) {
      const post = doc.paths[path].post;
      const body = post.requestBody.content["application/json"].schema;
      expect(body.properties.bound_hosts.anyOf).toEqual([expect.objectContaining({ type: "array", maxItems: 20 }), { type: "null" }]);
      expect(body.required).not.toContain("bound_hosts");
      expect(post.responses["201"].content["application/json"].schema.properties).toHaveProperty("bound_hosts");
      expect(doc.paths[path].get.responses["200"].content["application/json"].schema.properties.secrets.items.properties).toHaveProperty("bound_hosts");
      expect(doc.paths[`${path}/{name}`].get.responses["200"].content["application/json"].schema.properties).toHaveProperty("bound_hosts");
      expect(doc.paths[`${path}/{name}/versions`].get.responses["200"].content["application/json"].schema.properties.versions.items.properties).toHaveProperty("bound_hosts");
    }
  });
});
