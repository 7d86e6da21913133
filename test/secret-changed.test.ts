import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { auditLog, outbox, runs } from "@switchyard/db";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor } from "./support/manager.ts";
import { waitFor } from "./support/wait.ts";

// The secret_changed trigger kind end to end, in one process with a worker:
// a change through the admin API → events queued in the change's own
// transaction → the trigger's script runs. Three apps in two workspaces show
// which changes each app's triggers hear: their own app's, their
// workspace's, global ones; never another app's or workspace's.

const WATCH = `export default async (event, ctx) => {
  console.log("changed", JSON.stringify(event));
  return { app: ctx.app.name, trigger: ctx.trigger.name, kind: event.kind, ...event.secret_changed };
}`;

const VALUE = "sk_live_VALUE_NEVER_SEEN_7f3a9c";
const OTHER_VALUE = "sk_live_SECOND_VALUE_NEVER_SEEN_b81d";

interface Fired {
  app: string;
  trigger: string;
  kind: string;
  name: string;
  scope: string;
  scope_id: string | null;
  version: number;
  action: string;
  actor: { type: string; id: string };
}

describeEachDriver("the secret_changed trigger", (ctx) => {
  let built: Awaited<ReturnType<typeof managerFor>>;
  let admin: ReturnType<typeof client>;
  const apps: Record<string, string> = {};
  let workspace2: string;
  let adminTokenId: string;
  const ACTION_ORDER = ["created", "updated", "binding_changed", "rolled_back", "deleted"];
  /** Run ids already returned by fired(): rows come back in no set order, so not a count. */
  const seen = new Set<string>();

  const createApp = async (name: string, workspaceId?: string) => {
    const app = (await admin.post("/api/v1/admin/apps", { name, ...(workspaceId ? { workspace_id: workspaceId } : {}) })).json.id as string;
    const script = (await admin.post(`/api/v1/admin/apps/${app}/scripts`, { name: "watch", source: WATCH })).json.id as string;
    apps[name] = app;
    return { app, script };
  };

  /** The runs fired since the last call, once the outbox is drained. */
  const fired = async (): Promise<Fired[]> => {
    const done = await waitFor(async () => {
      const pending = await ctx.database.db.select({ id: outbox.id }).from(outbox);
      if (pending.length > 0) return false;
      const rows = await ctx.database.db.select().from(runs).where(eq(runs.eventKind, "secret_changed"));
      return { rows };
    });
    const fresh = done.rows.filter((row) => !seen.has(row.id));
    for (const row of fresh) seen.add(row.id);
    for (const row of fresh) expect(row.status, JSON.stringify(row.error)).toBe("ok");
    return fresh
      .map((row) => row.result as Fired)
      // Runs finish in any order: sort by trigger, name, version, then the order actions happen in (a rollback and the delete after it share a version).
      .sort((a, b) => `${a.app}/${a.trigger}/${a.name}/${a.version}/${ACTION_ORDER.indexOf(a.action)}`.localeCompare(`${b.app}/${b.trigger}/${b.name}/${b.version}/${ACTION_ORDER.indexOf(b.action)}`));
  };
  const who = (list: Fired[]) => list.map((f) => `${f.app}/${f.trigger}`).sort();

  beforeAll(async () => {
    built = await managerFor(ctx.database, { worker: true });
    admin = client(built.app, built.adminToken!);
    adminTokenId = (await admin.get("/api/v1/admin/whoami")).json.id;
    workspace2 = (await admin.post("/api/v1/admin/workspaces", { name: "other-team" })).json.id;
    const a = await createApp("alpha");
    const b = await createApp("beta");
    const c = await createApp("gamma", workspace2);
    const trigger = async (app: string, script: string, name: string, config: unknown) => {
      const made = await admin.post(`/api/v1/admin/apps/${app}/triggers`, { kind: "secret_changed", name, script_id: script, config, retry: { max_attempts: 1 } });
      expect(made.status, JSON.stringify(made.json)).toBe(201);
      return made.json;
    };
    const any = await trigger(a.app, a.script, "any", {});
    expect(any).toMatchObject({ kind: "secret_changed", config: { scopes: [], names: [] }, url: null });
    await trigger(a.app, a.script, "stripe-own", { scopes: ["app"], names: ["STRIPE_*"] });
    await trigger(b.app, b.script, "any", {});
    await trigger(c.app, c.script, "any", {});
  });
  afterAll(async () => {
    await built?.services.stop();
  });

  it("refuses a config with a bad name pattern or scope, naming the field", async () => {
    const script = (await admin.get(`/api/v1/admin/apps/${apps.alpha}/scripts`)).json.scripts[0].id;
    const bad = await admin.post(`/api/v1/admin/apps/${apps.alpha}/triggers`, { kind: "secret_changed", name: "bad", script_id: script, config: { names: ["STRIPE.*"] } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe("invalid_input");
    expect(bad.json.error.details.issues[0].path).toBe("config.names.0");
    const scope = await admin.post(`/api/v1/admin/apps/${apps.alpha}/triggers`, { kind: "secret_changed", name: "bad", script_id: script, config: { scopes: ["everywhere"] } });
    expect(scope.status).toBe(400);
    expect(scope.json.error.details.issues[0].path).toBe("config.scopes.0");
  });

  it("fires an app's triggers for its own secrets only, filtered by scope and name, with the change and never the value", async () => {
    expect((await admin.post(`/api/v1/admin/apps/${apps.alpha}/secrets`, { name: "STRIPE_KEY", value: VALUE })).status).toBe(201);
    const first = await fired();
    expect(who(first)).toEqual(["alpha/any", "alpha/stripe-own"]);
    expect(first[0]).toEqual({
      app: "alpha",
      trigger: "any",
      kind: "secret_changed",
      name: "STRIPE_KEY",
      scope: "app",
      scope_id: apps.alpha,
      version: 1,
      action: "created",
      actor: { type: "token", id: adminTokenId },
    });
    // A name the pattern does not match: only the trigger without names.
    await admin.post(`/api/v1/admin/apps/${apps.alpha}/secrets`, { name: "DB_URL", value: OTHER_VALUE });
    expect(who(await fired())).toEqual(["alpha/any"]);
  });

  it("fires for a workspace secret in that workspace's apps, and for a global one in every app, each exactly once", async () => {
    await admin.post("/api/v1/admin/workspaces/default/secrets", { name: "SHARED", value: VALUE });
    const shared = await fired();
    expect(who(shared)).toEqual(["alpha/any", "beta/any"]);
    const defaultWorkspace = (await admin.get(`/api/v1/admin/apps/${apps.alpha}`)).json.workspace_id;
    expect(shared.every((f) => f.scope === "workspace" && f.scope_id === defaultWorkspace && f.action === "created")).toBe(true);

    await admin.post("/api/v1/admin/global/secrets", { name: "STRIPE_GLOBAL", value: VALUE });
    const global = await fired();
    // alpha's stripe-own trigger watches the app scope only.
    expect(who(global)).toEqual(["alpha/any", "beta/any", "gamma/any"]);
    expect(global.every((f) => f.scope === "global" && f.scope_id === null)).toBe(true);

    await admin.post(`/api/v1/admin/workspaces/${workspace2}/secrets`, { name: "OTHER_TEAM", value: VALUE });
    expect(who(await fired())).toEqual(["gamma/any"]);
  });

  it("names each kind of change: updated, binding_changed, rolled_back, deleted, and imports", async () => {
    const base = `/api/v1/admin/apps/${apps.beta}/secrets`;
    await admin.post(base, { name: "API_KEY", value: VALUE });
    await admin.post(base, { name: "API_KEY", value: OTHER_VALUE });
    await admin.post(base, { name: "API_KEY", value: OTHER_VALUE, bound_hosts: ["api.example.com"] });
    expect((await admin.post(`${base}/API_KEY/rollback`, { version: 1 })).status).toBe(200);
    expect((await admin.delete(`${base}/API_KEY`)).status).toBe(204);
    const imported = await admin.call("POST", `/api/v1/admin/apps/${apps.beta}/secret-imports`, `NEW_ONE=${VALUE}\nAPI_KEY=${OTHER_VALUE}\n`, { "content-type": "text/plain" });
    expect(imported.status).toBe(200);
    const changes = (await fired()).map((f) => [f.name, f.version, f.action]);
    expect(changes).toEqual([
      ["API_KEY", 1, "created"],
      ["API_KEY", 1, "created"],
      ["API_KEY", 2, "updated"],
      ["API_KEY", 3, "binding_changed"],
      ["API_KEY", 4, "rolled_back"],
      ["API_KEY", 4, "deleted"],
      ["NEW_ONE", 1, "created"],
    ]);
  });

  it("fires nothing for a change that is refused (its transaction rolls back)", async () => {
    const base = `/api/v1/admin/apps/${apps.beta}/secrets`;
    await admin.post(base, { name: "BOUND", value: VALUE, bound_hosts: ["api.example.com"] });
    expect((await fired()).map((f) => f.action)).toEqual(["created"]);
    const writer = (await admin.post("/api/v1/admin/tokens", { name: "writer", scopes: ["secrets:write"] })).json.token as string;
    // Loosening the binding of the stored value needs secrets:reveal: refused inside the write's transaction.
    const refused = await client(built.app, writer).post(base, { name: "BOUND", value: VALUE, bound_hosts: null });
    expect(refused.status).toBe(403);
    expect(await fired()).toEqual([]);
  });

  it("keeps the value out of queued events, runs, logs and audit rows", async () => {
    const haystack = JSON.stringify([
      await ctx.database.db.select().from(runs),
      await ctx.database.db.select().from(outbox),
      await ctx.database.db.select().from(auditLog),
    ]);
    expect(haystack).toContain("STRIPE_KEY");
    for (const value of [VALUE, OTHER_VALUE]) expect(haystack).not.toContain(value);
  });
});
