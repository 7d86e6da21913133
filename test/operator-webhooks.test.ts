import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { auditLog, operatorWebhooks, webhookDeliveries } from "@switchyard/db";
import { parseConfig } from "@switchyard/server";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor } from "./support/manager.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.ts";
import { waitFor } from "./support/wait.ts";

// Operator webhooks end to end, in one process with a worker: the admin API
// → a secret change → a delivery queued in its transaction → the delivery
// loop → a real receiver on 127.0.0.1 that verifies every request with the
// reference `standardwebhooks` library.

const VALUE = "sk_live_WEBHOOK_VALUE_NEVER_SENT_51c2";
const FAST = { max_attempts: 3, backoff: "fixed", base_ms: 50 };

describeEachDriver("operator webhooks", (ctx) => {
  let receiver: WebhookReceiver;
  let failing: WebhookReceiver;
  let built: Awaited<ReturnType<typeof managerFor>>;
  let admin: ReturnType<typeof client>;
  let appId: string;
  let adminTokenId: string;

  const deliveriesOf = async (webhookId: string, status?: string) =>
    (await admin.get(`/api/v1/admin/webhooks/${webhookId}/deliveries${status ? `?status=${status}` : ""}`)).json.deliveries as Array<Record<string, any>>;
  const create = async (body: Record<string, unknown>, as = admin) => as.post("/api/v1/admin/webhooks", body);

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    failing = await startWebhookReceiver();
    // The operator opens the two local receivers, and nothing else of this machine.
    const settings = parseConfig({ SWITCHYARD_EGRESS_ALLOW: `127.0.0.1:${receiver.port},127.0.0.1:${failing.port}` });
    built = await managerFor(ctx.database, { worker: true, settings });
    admin = client(built.app, built.adminToken!);
    adminTokenId = (await admin.get("/api/v1/admin/whoami")).json.id;
    appId = (await admin.post("/api/v1/admin/apps", { name: "billing" })).json.id;
  });
  afterAll(async () => {
    await built?.services.stop();
    await receiver?.close();
    await failing?.close();
  });

  it("checks the url and the events, needs the admin scope, and answers the whsec_ secret once", async () => {
    const refused = async (body: Record<string, unknown>, path: string) => {
      const answer = await create(body);
      expect(answer.status, JSON.stringify(answer.json)).toBe(400);
      expect(answer.json.error.code).toBe("invalid_input");
      // Shape errors come as zod's issues, the service's checks as {issues}: both name the field.
      const details = answer.json.error.details;
      expect((Array.isArray(details) ? details : details.issues)[0].path).toBe(path);
    };
    await refused({ url: receiver.url, events: ["secret.deleted"] }, "events");
    await refused({ url: receiver.url, events: [] }, "events");
    await refused({ url: "http://hooks.example.com/sy", events: ["secret.changed"] }, "url");
    await refused({ url: "https://10.1.2.3/sy", events: ["secret.changed"] }, "url");
    await refused({ url: `http://127.0.0.1:${receiver.port + 1}/sy`, events: ["secret.changed"] }, "url");
    await refused({ url: "https://user:pw@hooks.example.com/sy", events: ["secret.changed"] }, "url");
    await refused({ url: "ftp://hooks.example.com/sy", events: ["secret.changed"] }, "url");

    const writer = (await admin.post("/api/v1/admin/tokens", { name: "writer", scopes: ["secrets:write"] })).json.token as string;
    expect((await create({ url: receiver.url, events: ["secret.changed"] }, client(built.app, writer))).status).toBe(403);

    const made = await create({ url: receiver.url, events: ["secret.changed"], retry: FAST });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({ url: receiver.url, events: ["secret.changed"], workspace_id: null, retry: FAST, created_by: adminTokenId });
    expect(made.json.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(made.json.secret.slice(6), "base64").length).toBeGreaterThanOrEqual(24);
    const shown = await admin.get(`/api/v1/admin/webhooks/${made.json.id}`);
    expect(shown.status).toBe(200);
    expect(shown.json).not.toHaveProperty("secret");
    const listed = (await admin.get("/api/v1/admin/webhooks")).json.webhooks;
    expect(listed.map((w: { id: string }) => w.id)).toContain(made.json.id);
    expect(JSON.stringify(listed)).not.toContain("whsec_");
    // Stored sealed: the row holds ciphertext, not the secret.
    const [row] = await ctx.database.db.select().from(operatorWebhooks).where(eq(operatorWebhooks.id, made.json.id));
    expect(row?.secretSealed.toString("latin1")).not.toContain(made.json.secret.slice(6));
    receiver.state.secret = made.json.secret;
  });

  it("delivers a change signed with Standard Webhooks, retried while the receiver fails, then delivered once", async () => {
    const [hook] = (await admin.get("/api/v1/admin/webhooks")).json.webhooks;
    receiver.state.answer = (n) => (n <= 2 ? 500 : 204);
    expect((await admin.post(`/api/v1/admin/apps/${appId}/secrets`, { name: "STRIPE_KEY", value: VALUE })).status).toBe(201);
    const [delivery] = await waitFor(async () => {
      const list = await deliveriesOf(hook.id, "delivered");
      return list.length === 1 && list;
    });
    expect(delivery).toMatchObject({ status: "delivered", attempts: 3, max_attempts: 3, last_status: 204, last_error: null, event_type: "secret.changed" });
    expect(receiver.received.map((r) => [r.verified, r.answered])).toEqual([
      [true, 500],
      [true, 500],
      [true, 204],
    ]);
    // One message: the same webhook-id on every attempt, the receiver's idempotency key.
    expect(new Set(receiver.received.map((r) => r.id))).toEqual(new Set([delivery?.message_id]));
    const body = JSON.parse(receiver.received[2]?.body ?? "{}");
    expect(body).toEqual({
      type: "secret.changed",
      timestamp: expect.any(String),
      data: { name: "STRIPE_KEY", scope: "app", scope_id: appId, version: 1, action: "created", actor: { type: "token", id: adminTokenId } },
    });
    for (const r of receiver.received) expect(r.body).not.toContain(VALUE);
  });

  it("signs with a rotated secret at once, and the old one no longer verifies", async () => {
    const [hook] = (await admin.get("/api/v1/admin/webhooks")).json.webhooks;
    const rotated = await admin.post(`/api/v1/admin/webhooks/${hook.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.json.secret).toMatch(/^whsec_/);
    expect(rotated.json.secret).not.toBe(receiver.state.secret);
    receiver.state.answer = () => 200;
    receiver.received.length = 0;
    await admin.post(`/api/v1/admin/apps/${appId}/secrets`, { name: "STRIPE_KEY", value: `${VALUE}-2` });
    // The receiver still holds the old secret: it refuses (401) until it is given the new one.
    await waitFor(async () => receiver.received.length >= 1);
    expect(receiver.received[0]).toMatchObject({ verified: false, answered: 401 });
    receiver.state.secret = rotated.json.secret;
    await waitFor(async () => receiver.received.some((r) => r.verified), 10_000);
    expect(JSON.parse(receiver.received.find((r) => r.verified)?.body ?? "{}").data).toMatchObject({ name: "STRIPE_KEY", version: 2, action: "updated" });
  });

  it("dead-letters a delivery after its attempts, lists it, and redelivers it on request", async () => {
    const made = await create({ url: failing.url, events: ["secret.changed"], retry: FAST });
    failing.state.secret = made.json.secret;
    failing.state.answer = () => 503;
    await admin.post("/api/v1/admin/global/secrets", { name: "GLOBAL_TOKEN", value: VALUE });
    const [dead] = await waitFor(async () => {
      const list = await deliveriesOf(made.json.id, "dead_letter");
      return list.length === 1 && list;
    });
    expect(dead).toMatchObject({ attempts: 3, status: "dead_letter", last_status: 503, last_error: { code: "http_503" }, next_attempt_at: null });
    expect(failing.received.map((r) => [r.verified, r.answered])).toEqual([
      [true, 503],
      [true, 503],
      [true, 503],
    ]);
    expect(await deliveriesOf(made.json.id, "pending")).toEqual([]);

    failing.state.answer = () => 200;
    const again = await admin.post(`/api/v1/admin/webhooks/${made.json.id}/deliveries/${dead?.id}/redeliver`);
    expect(again.status).toBe(202);
    const [delivered] = await waitFor(async () => {
      const list = await deliveriesOf(made.json.id, "delivered");
      return list.length === 1 && list;
    });
    expect(delivered).toMatchObject({ id: dead?.id, attempts: 1, last_status: 200 });
    expect(failing.received.at(-1)).toMatchObject({ id: dead?.message_id, verified: true, answered: 200 });
    expect((await admin.delete(`/api/v1/admin/webhooks/${made.json.id}`)).status).toBe(204);
    expect((await admin.get(`/api/v1/admin/webhooks/${made.json.id}`)).status).toBe(404);
    expect(await ctx.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, made.json.id))).toEqual([]);
  });

  it("refuses a private destination at delivery time unless the operator opened it", async () => {
    // A name, so it passes the check at create; it resolves to loopback, which is not opened on this port.
    const made = await create({ url: "https://localhost:9/sy", events: ["secret.changed"], retry: { max_attempts: 1 } });
    expect(made.status).toBe(201);
    await admin.post(`/api/v1/admin/apps/${appId}/secrets`, { name: "ANOTHER", value: VALUE });
    const [dead] = await waitFor(async () => {
      const list = await deliveriesOf(made.json.id, "dead_letter");
      return list.length === 1 && list;
    });
    expect(dead?.last_error.code).toBe("egress_denied");
    await admin.delete(`/api/v1/admin/webhooks/${made.json.id}`);
  });

  it("keeps a workspace's webhook to its workspace, and a workspace token to its own webhooks", async () => {
    const ws = (await admin.post("/api/v1/admin/workspaces", { name: "team-b" })).json.id as string;
    const teamApp = (await admin.post("/api/v1/admin/apps", { name: "team-app", workspace_id: ws })).json.id as string;
    const teamToken = (await admin.post("/api/v1/admin/tokens", { name: "team-admin", scopes: ["admin"], workspace_id: ws })).json.token as string;
    const team = client(built.app, teamToken);
    const made = await create({ url: failing.url, events: ["secret.changed"], retry: FAST }, team);
    expect(made.status).toBe(201);
    expect(made.json.workspace_id).toBe(ws);
    // A workspace token cannot reach the instance-wide webhooks, nor make one for another workspace.
    const [instanceWide] = (await admin.get("/api/v1/admin/webhooks")).json.webhooks.filter((w: { workspace_id: string | null }) => w.workspace_id === null);
    expect((await team.get(`/api/v1/admin/webhooks/${instanceWide.id}`)).status).toBe(404);
    expect((await team.delete(`/api/v1/admin/webhooks/${instanceWide.id}`)).status).toBe(404);
    expect((await team.get("/api/v1/admin/webhooks")).json.webhooks.map((w: { id: string }) => w.id)).toEqual([made.json.id]);
    expect((await create({ url: failing.url, events: ["secret.changed"], workspace_id: "default" }, team)).status).toBe(404);

    failing.state.secret = made.json.secret;
    failing.state.answer = () => 200;
    failing.received.length = 0;
    await admin.post("/api/v1/admin/global/secrets", { name: "GLOBAL_TWO", value: VALUE });
    await admin.post(`/api/v1/admin/apps/${appId}/secrets`, { name: "DEFAULT_APP", value: VALUE });
    await admin.post(`/api/v1/admin/apps/${teamApp}/secrets`, { name: "TEAM_APP", value: VALUE });
    await admin.post(`/api/v1/admin/workspaces/${ws}/secrets`, { name: "TEAM_SHARED", value: VALUE });
    const heard = await waitFor(async () => {
      const list = await deliveriesOf(made.json.id, "delivered");
      return list.length >= 2 && list;
    });
    // The instance-wide webhook's deliveries of the same changes are done too before counting.
    await waitFor(async () => (await ctx.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.status, "pending"))).length === 0);
    expect(heard.map((d) => d.payload.data.name).sort()).toEqual(["TEAM_APP", "TEAM_SHARED"]);
    expect((await deliveriesOf(made.json.id)).length).toBe(2);
  });

  it("holds a workspace to 20 webhooks (409 conflict past it, nothing written), and frees a place on delete", async () => {
    const ws = (await admin.post("/api/v1/admin/workspaces", { name: "many-hooks" })).json.id as string;
    const made: string[] = [];
    for (let i = 0; i < 20; i++) {
      const answer = await create({ url: `${receiver.url}?n=${i}`, events: ["secret.changed"], workspace_id: ws });
      expect(answer.status, JSON.stringify(answer.json)).toBe(201);
      made.push(answer.json.id);
    }
    const refused = await create({ url: receiver.url, events: ["secret.changed"], workspace_id: ws });
    expect(refused.status).toBe(409);
    expect(refused.json.error).toMatchObject({ code: "conflict", details: { limit: 20 } });
    expect(await ctx.database.db.select().from(operatorWebhooks).where(eq(operatorWebhooks.workspaceId, ws))).toHaveLength(20);
    expect((await admin.delete(`/api/v1/admin/webhooks/${made[0]}`)).status).toBe(204);
    expect((await create({ url: receiver.url, events: ["secret.changed"], workspace_id: ws })).status).toBe(201);
    for (const id of (await ctx.database.db.select().from(operatorWebhooks).where(eq(operatorWebhooks.workspaceId, ws))).map((w) => w.id)) await admin.delete(`/api/v1/admin/webhooks/${id}`);
  });

  it("audits creation, rotation and deletion without the secret, and keeps values out of every delivery", async () => {
    const audit = await ctx.database.db.select().from(auditLog);
    const actions = audit.map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(["webhook.create", "webhook.rotate_secret", "webhook.delete", "webhook.redeliver"]));
    const created = audit.find((a) => a.action === "webhook.create");
    expect(created).toMatchObject({ outcome: "ok", actorId: adminTokenId, details: { events: ["secret.changed"] } });
    const stored = JSON.stringify([audit, await ctx.database.db.select().from(webhookDeliveries)]);
    expect(stored).not.toContain("whsec_");
    expect(stored).not.toContain(VALUE);
  });
});
