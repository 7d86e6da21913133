import { createHmac, randomBytes } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import nodemailer from "nodemailer";
import { Registry } from "prom-client";
import { afterAll, beforeAll, expect, it } from "vitest";
import { signWebhook } from "@switchyard/crypto";
import { silentLogger, triggerSecretAad } from "@switchyard/core";
import { auditLog, inboundEmails, outbox, runs, triggers } from "@switchyard/db";
import { createSmtpListener } from "@switchyard/email";
import { createInboundReceiver, createManagerApp } from "@switchyard/manager";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor } from "./support/manager.ts";
import { waitFor } from "./support/wait.ts";

const DOMAIN = "in.switchyard.test";
const json = { "content-type": "application/json" };

describeEachDriver("public trigger endpoints under attack", (ctx) => {
  let built: Awaited<ReturnType<typeof managerFor>>;
  let admin: ReturnType<typeof client>;
  let appId: string;
  let echo: string;
  let broken: string;

  const create = async (kind: string, name: string, config: Record<string, unknown>, script = echo) => {
    const res = await admin.post(`/api/v1/admin/apps/${appId}/triggers`, { kind, name, script_id: script, config, retry: { max_attempts: 1 } });
    expect(res.status).toBe(201);
    return res.json;
  };
  const count = async (table: typeof outbox | typeof runs | typeof inboundEmails, triggerId: string) =>
    (await ctx.database.db.select({ n: sql<number>`count(*)::int` }).from(table).where(eq(table.triggerId, triggerId)))[0]!.n;
  const eventsOf = async (triggerId: string) => (await count(outbox, triggerId)) + (await count(runs, triggerId)) + (await count(inboundEmails, triggerId));
  const signed = (secret: string, body: string | Buffer) => {
    const id = `msg_${randomBytes(8).toString("hex")}`;
    const timestamp = Math.floor(Date.now() / 1000);
    return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": signWebhook(secret, id, timestamp, body) };
  };
  const post = async (app: { request: typeof built.app.request }, path: string, body: string | Buffer, headers: Record<string, string>) => {
    const res = await app.request(path, { method: "POST", body, headers });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : null) as Record<string, any> };
  };
  const pathOf = (url: string) => (url.startsWith("http") ? new URL(url).pathname : url);

  beforeAll(async () => {
    built = await managerFor(ctx.database, { worker: true, smtpDomain: DOMAIN });
    admin = client(built.app, built.adminToken!);
    appId = (await admin.post("/api/v1/admin/apps", { name: "exposed" })).json.id;
    const deploy = async (name: string, source: string) => (await admin.post(`/api/v1/admin/apps/${appId}/scripts`, { name, source })).json.id as string;
    echo = await deploy("echo", "export default (event, ctx) => ({ event, trigger: ctx.trigger })");
    broken = await deploy("broken", 'export default () => { throw new Error("cannot"); }');
  });
  afterAll(async () => built?.services.stop());

  it("refuses inbound mail holding U+0000 (JSON escape, raw MIME byte, encoded word) with 400 unsupported_character, storing nothing", async () => {
    const generic = await create("email", "nul-generic", { provider: "generic", signing: false });
    const mime = await create("email", "nul-mime", { provider: "mime", signing: false });
    const cases: [string, string, string | Buffer, Record<string, string>, string][] = [
      ["JSON \\u0000", generic.inbound_url, JSON.stringify({ from: "a@example.com", subject: "a\u0000b" }), json, "email.subject"],
      ["raw MIME byte", mime.inbound_url, Buffer.from("From: a@example.com\r\nSubject: s\r\n\r\nbody\u0000byte\r\n", "latin1"), { "content-type": "message/rfc822" }, "email.text"],
      ["encoded word", mime.inbound_url, "From: a@example.com\r\nSubject: =?utf-8?q?a=00b?=\r\n\r\nbody\r\n", { "content-type": "message/rfc822" }, "email.subject"],
    ];
    for (const [what, url, body, headers, path] of cases) {
      const res = await post(built.app, pathOf(url), body, headers);
      expect([what, res.status, res.json.error?.code, res.json.error?.details?.path]).toEqual([what, 400, "unsupported_character", path]);
    }
    expect(await eventsOf(generic.id)).toBe(0);
    expect(await eventsOf(mime.id)).toBe(0);
  });

  it("refuses a message holding U+0000 over SMTP for good (554 5.6.0), storing nothing", async () => {
    const trigger = await create("email", "nul-smtp", { provider: "generic", signing: false });
    const listener = createSmtpListener({ host: "127.0.0.1", port: 0, maxBytes: 1024 * 1024, lookup: (a) => built.inbound.lookupAddress(a), deliver: (m) => built.inbound.receiveSmtp(m) });
    const { port } = await listener.start();
    const transport = nodemailer.createTransport({ host: "127.0.0.1", port, secure: false, ignoreTLS: true });
    try {
      const refused = await transport.sendMail({ from: "s@example.com", to: trigger.smtp_address, subject: "a\u0000b", text: "x" }).catch((e: { responseCode?: number; response?: string }) => e);
      expect((refused as { responseCode?: number }).responseCode).toBe(554);
      expect((refused as { response?: string }).response).toMatch(/5\.6\.0/);
      expect(await eventsOf(trigger.id)).toBe(0);
    } finally {
      transport.close();
      await listener.stop();
    }
  });

  it("refuses a hook whose JSON, text body or query holds U+0000, or whose JSON nests 10,000 deep, with 400, enqueuing nothing", async () => {
    const hook = await create("http", "nul-hook", {});
    const cases: [string, string, string, Record<string, string>, string][] = [
      ["JSON \\u0000", hook.url, JSON.stringify({ a: ["x\u0000"] }), json, "unsupported_character"],
      ["text body", hook.url, "a\u0000b", { "content-type": "text/plain" }, "unsupported_character"],
      ["query", `${hook.url}?q=%00`, "{}", json, "unsupported_character"],
      ["10,000 deep", hook.url, "[".repeat(10_000) + "]".repeat(10_000), json, "too_deep"],
    ];
    for (const [what, url, body, headers, code] of cases) {
      const res = await post(built.app, url, body, headers);
      expect([what, res.status, res.json.error?.code]).toEqual([what, 400, code]);
    }
    expect(await eventsOf(hook.id)).toBe(0);
  });

  it("applies an http trigger's own max_body_bytes on its public route, past the 2 MiB admin cap", async () => {
    const hook = await create("http", "big-hook", { max_body_bytes: 10 * 1024 * 1024 });
    const threeMb = JSON.stringify({ blob: "x".repeat(3_000_000) });
    expect((await post(built.app, hook.url, threeMb, json)).status).toBe(202);
    const over = await post(built.app, hook.url, "x".repeat(10 * 1024 * 1024 + 1), { "content-type": "text/plain" });
    expect([over.status, over.json.error.code, over.json.error.details.limit]).toEqual([413, "too_large", 10 * 1024 * 1024]);
  });

  it("signs http triggers on request: the secret shown once, forgeries and replays refused with the unknown-trigger 401", async () => {
    const hook = await create("http", "signed-hook", { signing: true });
    expect(hook.config).toEqual({ max_body_bytes: 1024 * 1024, signing: "standard_webhooks" });
    expect(hook.signing_secret).toMatch(/^whsec_/);
    expect((await admin.get(`/api/v1/admin/apps/${appId}/triggers/${hook.id}`)).json.signing_secret).toBeUndefined();
    const body = JSON.stringify({ n: 1 });
    const unknown = await post(built.app, `/api/v1/hooks/trg_${"3".repeat(24)}`, body, { ...json, ...signed(hook.signing_secret, body) });
    expect(unknown.status).toBe(401);
    for (const headers of [{}, signed(`whsec_${randomBytes(24).toString("base64")}`, body)]) {
      const res = await post(built.app, hook.url, body, { ...json, ...headers });
      expect([res.status, res.json]).toEqual([401, unknown.json]);
    }
    const valid = signed(hook.signing_secret, body);
    expect((await post(built.app, hook.url, body, { ...json, ...valid })).status).toBe(202);
    expect((await post(built.app, hook.url, body, { ...json, ...valid })).status).toBe(401);
    // Leaving `signing` out of a PATCH keeps the trigger signed.
    const patched = await admin.patch(`/api/v1/admin/apps/${appId}/triggers/${hook.id}`, { config: { max_body_bytes: 2048 } });
    expect(patched.json.config).toEqual({ max_body_bytes: 2048, signing: "standard_webhooks" });
    expect((await post(built.app, hook.url, body, json)).status).toBe(401);
    expect(await eventsOf(hook.id)).toBe(1);
  });

  it("never shows a hook's id, URL or events to a read-only token, so its id cannot be used to fire the hook", async () => {
    const hook = await create("http", "secret-url", {});
    const fragile = await create("http", "fragile-url", {}, broken);
    const fired = await post(built.app, hook.url, JSON.stringify({ n: 1 }), json);
    await post(built.app, fragile.url, JSON.stringify({ n: 2 }), json);
    await waitFor(async () => (await count(runs, hook.id)) > 0 && (await count(runs, fragile.id)) > 0);
    const token = (await admin.post("/api/v1/admin/tokens", { name: "reader", scopes: ["runs:read", "scripts:read"] })).json.token as string;
    const reader = client(built.app, token);
    const runList = await reader.get(`/api/v1/admin/apps/${appId}/runs?event_id=${fired.json.event_id}`);
    expect(runList.json.runs[0].trigger_id).toBe("trg_hidden");
    const seen = [
      runList,
      await reader.get(`/api/v1/admin/apps/${appId}/runs/${runList.json.runs[0].id}`),
      await reader.get(`/api/v1/admin/apps/${appId}/runs`),
      await reader.get(`/api/v1/admin/apps/${appId}/dead-letters`),
      await reader.get(`/api/v1/admin/apps/${appId}/triggers`),
    ];
    for (const answer of seen) {
      expect(answer.status).toBe(200);
      for (const id of [hook.id, fragile.id]) expect(JSON.stringify(answer.json)).not.toContain(id);
    }
    const deadLetter = (await reader.get(`/api/v1/admin/apps/${appId}/dead-letters`)).json.dead_letters[0];
    expect(JSON.stringify((await reader.get(`/api/v1/admin/apps/${appId}/dead-letters/${deadLetter.id}`)).json)).not.toContain(fragile.id);
    expect((await reader.get(`/api/v1/admin/apps/${appId}/triggers`)).json.triggers.find((t: { name: string }) => t.name === "secret-url")).not.toHaveProperty("url");
    expect((await post(built.app, "/api/v1/hooks/trg_hidden", "{}", json)).status).toBe(401);
    // A token that manages triggers sees them whole.
    expect((await admin.get(`/api/v1/admin/apps/${appId}/runs?event_id=${fired.json.event_id}`)).json.runs[0].trigger_id).toBe(hook.id);
  });

  it("hides hook ids from read tokens in workspace and global audit rows too, and leaves bodiless answers alone", async () => {
    const hook = await create("http", "audited-url", {});
    const workspaceId = (await admin.get(`/api/v1/admin/apps/${appId}`)).json.workspace_id as string;
    const token = (await admin.post("/api/v1/admin/tokens", { name: "auditor", scopes: ["secrets:read", "secrets:write"] })).json.token as string;
    const auditor = client(built.app, token);
    for (const path of [`/api/v1/admin/workspaces/${workspaceId}/audit`, "/api/v1/admin/global/audit", `/api/v1/admin/apps/${appId}/audit`]) {
      const answer = await auditor.get(path);
      expect(answer.status).toBe(200);
      expect(JSON.stringify(answer.json)).not.toContain(hook.id);
      expect(JSON.stringify(answer.json).toLowerCase()).not.toContain(hook.id.toLowerCase());
    }
    // The admin sees the row that names it, so the reader's answer really had it to hide.
    expect(JSON.stringify((await admin.get(`/api/v1/admin/workspaces/${workspaceId}/audit`)).json)).toContain(hook.id);
    // A 204 under an app with public triggers passes through untouched (rebuilding it with a body was a 500).
    expect((await auditor.post(`/api/v1/admin/apps/${appId}/secrets`, { name: "GONE_SOON", value: "x" })).status).toBeLessThan(300);
    expect((await auditor.delete(`/api/v1/admin/apps/${appId}/secrets/GONE_SOON`)).status).toBe(204);
  });

  it("keeps a trigger cached through bad signatures: no eviction, no database read, no unseal", async () => {
    // Its own receiver with a long cache, so only a bad signature could make it read the trigger again.
    const inbound = createInboundReceiver({ database: ctx.database, secrets: built.secrets, logger: silentLogger, maxBytes: 1024 * 1024, cacheMs: 600_000 });
    const app = createManagerApp({ database: ctx.database, logger: silentLogger, metrics: new Registry(), secrets: built.secrets, scripts: built.services.scripts, invoker: built.services.invoker, inbound });
    const trigger = await create("email", "cached", { provider: "generic" });
    const mail = (n: number) => JSON.stringify({ from: "a@example.com", subject: `c${n}`, message_id: `<cached-${n}-${trigger.id}@example.com>` });
    expect((await post(app, pathOf(trigger.inbound_url), mail(1), { ...json, ...signed(trigger.signing_secret, mail(1)) })).status).toBe(202);
    // The stored secret changes behind the cache's back (no NOTIFY, same updated_at).
    const replacement = `whsec_${randomBytes(24).toString("base64")}`;
    const sealed = await ctx.database.db.transaction((tx) => built.secrets.sealForApp(tx, appId, triggerSecretAad(trigger.id), Buffer.from(replacement)));
    await ctx.database.db.update(triggers).set({ secretSealed: sealed }).where(eq(triggers.id, trigger.id));
    // A request signed with it is a bad signature for the cached trigger: refused, and nothing re-read...
    expect((await post(app, pathOf(trigger.inbound_url), mail(2), { ...json, ...signed(replacement, mail(2)) })).status).toBe(401);
    // ...so the cached secret still works.
    expect((await post(app, pathOf(trigger.inbound_url), mail(3), { ...json, ...signed(trigger.signing_secret, mail(3)) })).status).toBe(202);
  });

  it("checks a Mailgun signature before parsing the body or spending the rate limit", async () => {
    const key = `mailgun-key-${randomBytes(8).toString("hex")}`;
    const trigger = await create("email", "mailgun-first", { provider: "mailgun", mailgun_signing_key: key, rate_limit_per_minute: 1 });
    const form = (fields: Record<string, string>, signingKey = key) => {
      const timestamp = String(Math.floor(Date.now() / 1000));
      const token = randomBytes(25).toString("hex");
      const signature = createHmac("sha256", signingKey).update(timestamp + token).digest("hex");
      return new URLSearchParams({ ...fields, timestamp, token, signature }).toString();
    };
    const urlencoded = { "content-type": "application/x-www-form-urlencoded" };
    const url = pathOf(trigger.inbound_url);
    // Unparseable (no sender at all) and forged: the forgery is what is answered.
    expect((await post(built.app, url, form({ subject: "no from" }, "wrong-key-123"), urlencoded)).status).toBe(401);
    expect((await post(built.app, url, form({ from: "a@example.com", subject: "forged" }, "wrong-key-123"), urlencoded)).status).toBe(401);
    // The forgeries took nothing of the one-a-minute limit.
    expect((await post(built.app, url, form({ from: "a@example.com", subject: "real" }), urlencoded)).status).toBe(202);
  });

  it("answers an app name in another workspace exactly as a name that exists nowhere, after the same work", async () => {
    const mine = (await admin.post("/api/v1/admin/workspaces", { name: `mine-${ctx.driver}` })).json.id;
    const theirs = (await admin.post("/api/v1/admin/workspaces", { name: `theirs-${ctx.driver}` })).json.id;
    expect((await admin.post("/api/v1/admin/apps", { name: "twin", workspace_id: theirs })).status).toBe(201);
    const token = (await admin.post("/api/v1/admin/tokens", { name: "limited", scopes: ["admin"], workspace_id: mine })).json.token as string;
    const limited = client(built.app, token);
    const denials = async () => (await ctx.database.db.select({ n: sql<number>`count(*)::int` }).from(auditLog).where(and(eq(auditLog.outcome, "denied"))))[0]!.n;
    for (const path of ["secrets", "triggers", "runs"]) {
      const before = await denials();
      const other = await limited.get(`/api/v1/admin/apps/twin/${path}`);
      const between = await denials();
      const none = await limited.get(`/api/v1/admin/apps/ghost/${path}`);
      const after = await denials();
      expect(other.status).toBe(404);
      expect(JSON.stringify(other.json).replaceAll("twin", "NAME")).toBe(JSON.stringify(none.json).replaceAll("ghost", "NAME"));
      expect(between - before).toBe(after - between);
    }
  });
});
