import { createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { eq, sql } from "drizzle-orm";
import nodemailer from "nodemailer";
import { afterAll, beforeAll, expect, it } from "vitest";
import { signWebhook } from "@switchyard/crypto";
import { pruneInboundSeen } from "@switchyard/core";
import { inboundSeen, outbox, runs, triggers } from "@switchyard/db";
import { createSmtpListener } from "@switchyard/email";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor } from "./support/manager.ts";
import { waitFor } from "./support/wait.ts";

const fixtures = new URL("./fixtures/email/", import.meta.url);
const fixture = (path: string) => readFileSync(new URL(path, fixtures));
const MAX_BYTES = 256 * 1024;
const DOMAIN = "in.switchyard.test";

const EMAIL_KEYS = ["attachments", "cc", "from", "headers", "html", "in_reply_to", "message_id", "raw_id", "received_at", "subject", "text", "to"];

describeEachDriver("inbound email", (ctx) => {
  let built: Awaited<ReturnType<typeof managerFor>>;
  let admin: ReturnType<typeof client>;
  let appId: string;
  let echo: string;

  const createTrigger = async (name: string, config: Record<string, unknown>) => {
    const res = await admin.post(`/api/v1/admin/apps/${appId}/triggers`, { kind: "email", name, script_id: echo, config, retry: { max_attempts: 1 } });
    expect(res.status).toBe(201);
    return res.json;
  };
  const eventsOf = async (triggerId: string) => (await ctx.database.db.select({ n: sql<number>`count(*)::int` }).from(runs).where(eq(runs.triggerId, triggerId)))[0]!.n + (await ctx.database.db.select({ n: sql<number>`count(*)::int` }).from(outbox).where(eq(outbox.triggerId, triggerId)))[0]!.n;
  const emailOf = async (eventId: string) => {
    const [run] = await waitFor(async () => {
      const rows = await ctx.database.db.select().from(runs).where(eq(runs.eventId, eventId));
      return rows.length > 0 && rows[0]!.status !== "running" && rows;
    });
    expect(run?.status).toBe("ok");
    return run!.result as Record<string, any>;
  };
  const signed = (secret: string, body: string | Buffer, options: { id?: string; timestamp?: number } = {}) => {
    const id = options.id ?? `msg_${randomBytes(8).toString("hex")}`;
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": signWebhook(secret, id, timestamp, body) };
  };
  const post = async (url: string, body: string | Buffer, headers: Record<string, string>) => {
    const res = await built.app.request(new URL(url).pathname, { method: "POST", body, headers });
    return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, any> };
  };

  beforeAll(async () => {
    built = await managerFor(ctx.database, { worker: true, smtpDomain: DOMAIN, settings: { emailMaxBytes: MAX_BYTES } });
    admin = client(built.app, built.adminToken!);
    appId = (await admin.post("/api/v1/admin/apps", { name: "inbox" })).json.id;
    echo = (await admin.post(`/api/v1/admin/apps/${appId}/scripts`, { name: "echo", source: "export default (event) => event.email" })).json.id;
  });
  afterAll(async () => built?.services.stop());

  it("creates email triggers with an inbound URL, an SMTP address and a signing secret shown once", async () => {
    const trigger = await createTrigger("signed", { provider: "generic" });
    // SMTP carries no signature: a signed trigger has no SMTP address.
    expect(trigger).toMatchObject({ kind: "email", config: { provider: "generic", signing: "standard_webhooks" }, smtp_address: null });
    expect(trigger.inbound_url).toBe(`http://localhost/api/v1/email-inbound/${trigger.id}`);
    expect(trigger.signing_secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const shown = (await admin.get(`/api/v1/admin/apps/${appId}/triggers/${trigger.id}`)).json;
    expect(shown.signing_secret).toBeUndefined();
    expect(JSON.stringify(shown)).not.toContain(trigger.signing_secret.slice(6));
    const [row] = await ctx.database.db.select().from(triggers).where(eq(triggers.id, trigger.id));
    expect(row?.secretSealed?.includes(Buffer.from(trigger.signing_secret))).toBe(false);
    expect((await admin.post(`/api/v1/admin/apps/${appId}/triggers`, { kind: "email", name: "bad", script_id: echo, config: { provider: "mailgun" } })).status).toBe(400);
    expect((await admin.post(`/api/v1/admin/apps/${appId}/triggers`, { kind: "email", name: "bad2", script_id: echo, config: { provider: "outlook" } })).status).toBe(400);
    const unsigned = await createTrigger("postmark-default", { provider: "postmark" });
    expect(unsigned).toMatchObject({ config: { signing: "none" }, smtp_address: `${unsigned.id}@${DOMAIN}` });
    // A PATCH that leaves `signing` out keeps it: a signed Postmark trigger stays signed, with its secret.
    const signedPostmark = await createTrigger("postmark-signed", { provider: "postmark", signing: true });
    const patched = await admin.patch(`/api/v1/admin/apps/${appId}/triggers/${signedPostmark.id}`, { config: { provider: "postmark", rate_limit_per_minute: 5 } });
    expect(patched.json).toMatchObject({ config: { signing: "standard_webhooks", rate_limit_per_minute: 5 } });
    expect(patched.json.signing_secret).toBeUndefined();
    const [kept] = await ctx.database.db.select().from(triggers).where(eq(triggers.id, signedPostmark.id));
    expect(kept?.secretSealed).not.toBeNull();
  });

  it("accepts a signed generic email once and refuses every forgery with the same 401, firing nothing", async () => {
    const trigger = await createTrigger("guarded", { provider: "generic" });
    const secret: string = trigger.signing_secret;
    const body = JSON.stringify({ from: "Ann <ann@example.com>", to: ["inbox@example.com"], subject: "Hello", text: "Hi there", message_id: "<g1@example.com>" });
    const json = { "content-type": "application/json" };
    const now = Math.floor(Date.now() / 1000);
    const other = "whsec_" + randomBytes(24).toString("base64");
    const valid = signed(secret, body);
    const forgeries: [string, string, Record<string, string>][] = [
      ["tampered body", body.replace("Hello", "Hellp"), valid],
      ["wrong secret", body, signed(other, body)],
      ["stale timestamp", body, signed(secret, body, { timestamp: now - 330 })],
      ["future timestamp", body, signed(secret, body, { timestamp: now + 330 })],
      ["pretty-printed copy", JSON.stringify(JSON.parse(body), null, 2), valid],
      ["missing headers", body, {}],
      ["missing signature", body, { "webhook-id": valid["webhook-id"], "webhook-timestamp": valid["webhook-timestamp"] }],
    ];
    const unknown = await post(`http://x/api/v1/email-inbound/trg_${"0".repeat(24)}`, body, { ...json, ...valid });
    expect(unknown.status).toBe(401);
    for (const [what, sent, headers] of forgeries) {
      const res = await post(trigger.inbound_url, sent, { ...json, ...headers });
      expect([what, res.status, res.json]).toEqual([what, 401, unknown.json]);
    }
    expect(await eventsOf(trigger.id)).toBe(0);

    const accepted = await post(trigger.inbound_url, body, { ...json, ...valid });
    expect(accepted.status).toBe(202);
    const replayed = await post(trigger.inbound_url, body, { ...json, ...valid });
    expect([replayed.status, replayed.json]).toEqual([401, unknown.json]);
    // The same mail (same Message-ID) signed afresh: a duplicate, answered 200, firing nothing.
    const again = await post(trigger.inbound_url, body, { ...json, ...signed(secret, body) });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ event_id: null, duplicate: true });

    const email = await emailOf(accepted.json.event_id);
    expect(email).toMatchObject({ from: "ann@example.com", to: ["inbox@example.com"], cc: [], subject: "Hello", text: "Hi there", html: "", message_id: "<g1@example.com>" });
    expect(await eventsOf(trigger.id)).toBe(1);
    // Generic JSON is whole in the event; nothing else is kept.
    expect(email.raw_id).toBeNull();
  });

  it("refuses an oversized body to an unsigned trigger with 413 (a signed or unknown one with 401), and rate-limits with 429 and Retry-After", async () => {
    const big = Buffer.alloc(MAX_BYTES + 1, 97);
    const send = (id: string) => built.app.request(`/api/v1/email-inbound/${id}`, { method: "POST", body: big, headers: { "content-type": "message/rfc822" } });
    expect((await send(`trg_${"1".repeat(24)}`)).status).toBe(401);
    // A signed trigger answers as an unknown id does; an unsigned one's URL is its credential, so it says why.
    expect((await send((await createTrigger("big", { provider: "mime" })).id)).status).toBe(401);
    expect((await send((await createTrigger("big-open", { provider: "mime", signing: false })).id)).status).toBe(413);
    const limited = await createTrigger("limited", { provider: "generic", signing: false, rate_limit_per_minute: 1 });
    const mail = (n: number) => post(limited.inbound_url, JSON.stringify({ from: "a@example.com", subject: `n${n}` }), { "content-type": "application/json" });
    expect((await mail(1)).status).toBe(202);
    const refused = await mail(2);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(refused.json.error.code).toBe("rate_limited");
    // A request that reads its trigger afresh (it changed since it was cached) counts once, not twice.
    const counted = await createTrigger("counted", { provider: "generic", signing: false, rate_limit_per_minute: 2 });
    const once = (n: number) => post(counted.inbound_url, JSON.stringify({ from: "a@example.com", subject: `c${n}` }), { "content-type": "application/json" });
    expect((await once(1)).status).toBe(202);
    await admin.patch(`/api/v1/admin/apps/${appId}/triggers/${counted.id}`, { enabled: true });
    expect((await once(2)).status).toBe(202);
    expect((await once(3)).status).toBe(429);
  });

  it("rotates a signing secret: the old one keeps working for the grace period, then not", async () => {
    const trigger = await createTrigger("rotated", { provider: "generic" });
    const old: string = trigger.signing_secret;
    const rotated = await admin.patch(`/api/v1/admin/apps/${appId}/triggers/${trigger.id}`, { config: { provider: "generic", rotate_signing_secret: true } });
    expect(rotated.status).toBe(200);
    const fresh: string = rotated.json.signing_secret;
    expect(fresh).toMatch(/^whsec_/);
    expect(fresh).not.toBe(old);
    const mail = (n: number) => JSON.stringify({ from: "a@example.com", subject: `r${n}`, message_id: `<rot-${n}-${trigger.id}@example.com>` });
    const json = { "content-type": "application/json" };
    expect((await post(trigger.inbound_url, mail(1), { ...json, ...signed(fresh, mail(1)) })).status).toBe(202);
    expect((await post(trigger.inbound_url, mail(2), { ...json, ...signed(old, mail(2)) })).status).toBe(202);
    // A sender mid-switch may sign with both: any one valid signature is enough.
    const both = signed(fresh, mail(3));
    both["webhook-signature"] = `${signed(old, mail(3), { id: both["webhook-id"], timestamp: Number(both["webhook-timestamp"]) })["webhook-signature"]} ${both["webhook-signature"]}`;
    expect((await post(trigger.inbound_url, mail(3), { ...json, ...both })).status).toBe(202);
    // Grace over (moved into the past here): the old secret is refused.
    await ctx.database.db.update(triggers).set({ secretPreviousUntil: new Date(Date.now() - 1000), updatedAt: new Date() }).where(eq(triggers.id, trigger.id));
    expect((await post(trigger.inbound_url, mail(4), { ...json, ...signed(old, mail(4)) })).status).toBe(401);
    expect((await post(trigger.inbound_url, mail(5), { ...json, ...signed(fresh, mail(5)) })).status).toBe(202);
    const bad = await admin.patch(`/api/v1/admin/apps/${appId}/triggers/${trigger.id}`, { config: { provider: "postmark", signing: false, rotate_signing_secret: true } });
    expect(bad.status).toBe(400);
    // Two rotations at once: each one that answers 200 handed out a secret that works.
    const racing = await Promise.all([1, 2].map(() => admin.patch(`/api/v1/admin/apps/${appId}/triggers/${trigger.id}`, { config: { provider: "generic", rotate_signing_secret: true } })));
    expect(racing.map((r) => r.status).every((status) => status === 200 || status === 409)).toBe(true);
    for (const [n, answer] of racing.entries()) {
      if (answer.status !== 200) continue;
      const body = mail(10 + n);
      expect((await post(trigger.inbound_url, body, { ...json, ...signed(answer.json.signing_secret, body) })).status).toBe(202);
    }
  });

  it("forgets accepted ids after 30 days, and with their trigger", async () => {
    const trigger = await createTrigger("forgetful", { provider: "generic", signing: false });
    const mail = JSON.stringify({ from: "a@example.com", subject: "again", message_id: `<forget-${trigger.id}@example.com>` });
    const json = { "content-type": "application/json" };
    expect((await post(trigger.inbound_url, mail, json)).status).toBe(202);
    expect((await post(trigger.inbound_url, mail, json)).status).toBe(200);
    expect(await pruneInboundSeen(ctx.database.db)).toBe(0);
    await ctx.database.db.update(inboundSeen).set({ createdAt: new Date(Date.now() - 31 * 86_400_000) }).where(eq(inboundSeen.triggerId, trigger.id));
    expect(await pruneInboundSeen(ctx.database.db)).toBe(1);
    // Forgotten: the same mail fires again.
    expect((await post(trigger.inbound_url, mail, json)).status).toBe(202);
    expect(await ctx.database.db.select().from(inboundSeen).where(eq(inboundSeen.triggerId, trigger.id))).toHaveLength(1);
    await admin.delete(`/api/v1/admin/apps/${appId}/triggers/${trigger.id}`);
    expect(await ctx.database.db.select().from(inboundSeen).where(eq(inboundSeen.triggerId, trigger.id))).toHaveLength(0);
  });

  it("refuses (401) when the stored signing secret cannot be decrypted, never skipping the check", async () => {
    const trigger = await createTrigger("corrupt", { provider: "generic" });
    const body = JSON.stringify({ from: "a@example.com", subject: "s" });
    const [row] = await ctx.database.db.select().from(triggers).where(eq(triggers.id, trigger.id));
    const flipped = Buffer.from(row!.secretSealed!);
    flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 1;
    await ctx.database.db.update(triggers).set({ secretSealed: flipped, updatedAt: new Date() }).where(eq(triggers.id, trigger.id));
    const res = await post(trigger.inbound_url, body, { "content-type": "application/json", ...signed(trigger.signing_secret, body) });
    expect(res.status).toBe(401);
    expect(await eventsOf(trigger.id)).toBe(0);
  });

  it("normalizes each provider's real sample into the one email event", async () => {
    const postmark = await createTrigger("postmark", { provider: "postmark" });
    const sendgrid = await createTrigger("sendgrid", { provider: "sendgrid" });
    const mime = await createTrigger("mime", { provider: "mime" });
    const key = "mailgun-key-" + randomBytes(8).toString("hex");
    const mailgun = await createTrigger("mailgun", { provider: "mailgun", mailgun_signing_key: key });

    const fromPostmark = await emailOf((await post(postmark.inbound_url, fixture("postmark-inbound.json"), { "content-type": "application/json" })).json.event_id);
    expect(fromPostmark).toMatchObject({ from: "support@postmarkapp.com", to: ["yourhash+SampleHash@inbound.postmarkapp.com"], cc: ["firstcc@postmarkapp.com", "secondCc@postmarkapp.com"], subject: "Test subject" });
    const keptPostmark = await admin.get(`/api/v1/admin/apps/${appId}/inbound-emails/${fromPostmark.raw_id}`);
    expect(keptPostmark.json).toEqual(JSON.parse(fixture("postmark-inbound.json").toString()));
    expect(fromPostmark.attachments[0]).toMatchObject({ filename: "test.txt", content_base64: Buffer.from("This is attachment contents, base-64 encoded.").toString("base64") });

    const form = fixture("sendgrid-inbound-parse/sendgrid-python-default_data.txt");
    const fromSendgrid = await emailOf((await post(sendgrid.inbound_url, form, { "content-type": "multipart/form-data; boundary=xYzZY" })).json.event_id);
    expect(fromSendgrid.subject).not.toBe("");
    expect(fromSendgrid.from).toMatch(/@/);

    const eml = fixture("mime/03-mixed-attachments.eml");
    const mimeAnswer = await post(mime.inbound_url, eml, { "content-type": "message/rfc822", ...signed(mime.signing_secret, eml) });
    const fromMime = await emailOf(mimeAnswer.json.event_id);
    expect(fromMime.message_id).toBe("<20111114143621.06FAD18F9C4C@smtp.zone.eu>");
    expect(fromMime.attachments.map((a: { filename: string }) => a.filename)).toEqual(["notes.txt", "image.png"]);
    expect(Buffer.from(fromMime.attachments[0].content_base64, "base64").toString()).toBe("Some notes about this e-mail");
    const raw = await built.app.request(`/api/v1/admin/apps/${appId}/inbound-emails/${fromMime.raw_id}`, { headers: { authorization: `Bearer ${built.adminToken}` } });
    expect(Buffer.from(await raw.arrayBuffer()).equals(eml)).toBe(true);

    const fields = JSON.parse(fixture("mailgun-inbound/mailgun-forward.json").toString()) as Record<string, string>;
    const timestamp = String(Math.floor(Date.now() / 1000));
    const token = randomBytes(25).toString("hex");
    const signature = createHmac("sha256", key).update(timestamp + token).digest("hex");
    const form2 = new URLSearchParams({ ...fields, timestamp, token, signature }).toString();
    const urlencoded = { "content-type": "application/x-www-form-urlencoded" };
    const mg = await post(mailgun.inbound_url, form2, urlencoded);
    expect(mg.status).toBe(202);
    const fromMailgun = await emailOf(mg.json.event_id);
    expect(fromMailgun).toMatchObject({ subject: expect.any(String), text: "Test body plain", html: "<div>Test body html</div>", message_id: "<CAEPk3R+4Zr@mail.example.org>" });
    // Mailgun's token is remembered: the same signed post again is a replay.
    expect((await post(mailgun.inbound_url, form2, urlencoded)).status).toBe(401);
    const forged = new URLSearchParams({ ...fields, timestamp, token: randomBytes(25).toString("hex"), signature }).toString();
    expect((await post(mailgun.inbound_url, forged, urlencoded)).status).toBe(401);
    // The fixture's own 2016 signature is far outside the tolerance window.
    expect((await post(mailgun.inbound_url, new URLSearchParams(fields).toString(), urlencoded)).status).toBe(401);

    for (const email of [fromPostmark, fromSendgrid, fromMime, fromMailgun]) {
      expect(Object.keys(email).sort()).toEqual(EMAIL_KEYS);
      expect(Array.isArray(email.to) && Array.isArray(email.cc) && Array.isArray(email.attachments)).toBe(true);
      expect(typeof email.headers).toBe("object");
      expect(new Date(email.received_at).getTime()).toBeGreaterThan(Date.now() - 120_000);
    }
  });

  it("fires the trigger for mail sent to its SMTP address by a real client, and refuses unknown recipients and signed triggers", async () => {
    const trigger = await createTrigger("by-smtp", { provider: "generic", signing: false });
    const signedTrigger = await createTrigger("signed-no-smtp", { provider: "generic" });
    const listener = createSmtpListener({
      host: "127.0.0.1",
      port: 0,
      maxBytes: MAX_BYTES,
      lookup: (address) => built.inbound.lookupAddress(address),
      deliver: (message) => built.inbound.receiveSmtp(message),
    });
    const { port } = await listener.start();
    const transport = nodemailer.createTransport({ host: "127.0.0.1", port, secure: false, ignoreTLS: true });
    try {
      const info = await transport.sendMail({ from: "sender@example.com", to: trigger.smtp_address, subject: "over smtp", text: "hello smtp" });
      expect(info.accepted).toEqual([trigger.smtp_address]);
      const [run] = await waitFor(async () => {
        const rows = await ctx.database.db.select().from(runs).where(eq(runs.triggerId, trigger.id));
        return rows.length > 0 && rows[0]!.status !== "running" && rows;
      });
      expect(run?.result).toMatchObject({ from: "sender@example.com", to: [trigger.smtp_address], subject: "over smtp" });
      expect((run?.result as { text: string }).text.trim()).toBe("hello smtp");
      for (const to of [`trg_${"2".repeat(24)}@${DOMAIN}`, `${signedTrigger.id}@${DOMAIN}`]) {
        const refused = await transport.sendMail({ from: "sender@example.com", to, subject: "x", text: "x" }).catch((e: { code?: string }) => e);
        expect((refused as { code?: string }).code).toBe("EENVELOPE");
      }
      expect(await eventsOf(signedTrigger.id)).toBe(0);
    } finally {
      transport.close();
      await listener.stop();
    }
  });
});
