import net from "node:net";
import { eq } from "drizzle-orm";
import { simpleParser } from "mailparser";
import { afterAll, beforeAll, expect, it } from "vitest";
import { deadLetters, emailMessages, runs } from "@switchyard/db";
import { parseSmtpHostRules } from "@switchyard/email";
import { startSmtpSink, type SmtpSink } from "@switchyard/email/testing";
import { describeEachDriver } from "./support/databases.ts";
import type { ServiceSettings } from "@switchyard/server";
import { client, managerFor } from "./support/manager.ts";
import { waitFor } from "./support/wait.ts";

// Scripts sending mail through the whole path: invoke → outbox → dispatcher →
// isolate → host → nodemailer → a real SMTP server (smtp-server).
describeEachDriver("email.send from scripts", (ctx) => {
  let sink: SmtpSink;
  let appSink: SmtpSink;
  let built: Awaited<ReturnType<typeof managerFor>>;
  let admin: ReturnType<typeof client>;
  let appId: string;

  const deploy = async (name: string, source: string) => (await admin.post(`/api/v1/admin/apps/${appId}/scripts`, { name, source })).json.id as string;
  const invoke = async (scriptId: string, payload: unknown = {}) => (await admin.post(`/api/v1/admin/apps/${appId}/scripts/${scriptId}/invoke`, { payload })).json.event_id as string;
  const runsOf = (eventId: string) => ctx.database.db.select().from(runs).where(eq(runs.eventId, eventId)).orderBy(runs.attempt);
  const finished = (eventId: string, attempts = 1) =>
    waitFor(async () => {
      const rows = await runsOf(eventId);
      return rows.length >= attempts && rows.every((r) => r.status !== "running") && rows;
    });

  beforeAll(async () => {
    sink = await startSmtpSink({ refuse: (a) => a.startsWith("nobody@") });
    appSink = await startSmtpSink();
    // The apps here name SMTP servers on this machine: the operator opens it to them.
    built = await managerFor(ctx.database, { worker: true, settings: { smtpUrl: sink.url, emailFrom: "Switchyard <noreply@switchyard.test>", smtpAllowedHosts: parseSmtpHostRules("127.0.0.1") } });
    admin = client(built.app, built.adminToken!);
    appId = (await admin.post("/api/v1/admin/apps", { name: "mailer" })).json.id;
    await admin.post(`/api/v1/admin/apps/${appId}/secrets`, { name: "GREETING", value: "hello-from-the-vault" });
  });
  afterAll(async () => {
    await built?.services.stop();
    await sink?.close();
    await appSink?.close();
  });

  it("reaches the SMTP server with the right To, Cc, Bcc, Reply-To, subject and parts, and logs the send", async () => {
    const script = await deploy(
      "full",
      `export default async () => email.sendHtml({
        to: ["Ann <ann@example.com>", "bob@example.com"], cc: "carol@example.com", bcc: "dave@example.com",
        reply_to: "replies@example.com", subject: "Report " + (await secrets.get("GREETING")).length,
        text: "plain", html: "<b>rich</b>" })`,
    );
    const [run] = await finished(await invoke(script));
    expect(run?.status).toBe("ok");
    const result = run?.result as { message_id: string; accepted: string[]; rejected: string[] };
    expect(result.accepted.sort()).toEqual(["ann@example.com", "bob@example.com", "carol@example.com", "dave@example.com"]);
    const got = sink.messages.find((m) => m.raw.includes(Buffer.from(result.message_id.slice(1, -1))));
    expect(got?.to.sort()).toEqual(["ann@example.com", "bob@example.com", "carol@example.com", "dave@example.com"]);
    const mail = await simpleParser(got!.raw);
    expect(mail.subject).toBe("Report 20");
    expect(JSON.stringify(mail.to)).toContain("ann@example.com");
    expect(JSON.stringify(mail.cc)).toContain("carol@example.com");
    expect(mail.headers.has("bcc")).toBe(false);
    expect(JSON.stringify(mail.replyTo)).toContain("replies@example.com");
    expect(mail.from?.value).toEqual([{ name: "Switchyard", address: "noreply@switchyard.test" }]);
    expect(mail.text?.trim()).toBe("plain");
    expect(mail.html).toContain("<b>rich</b>");

    const log = (await admin.get(`/api/v1/admin/apps/${appId}/emails?run_id=${run!.id}`)).json.emails;
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ status: "sent", run_id: run!.id, message_id: result.message_id, subject: "Report 20", bcc: ["dave@example.com"], error: null });
  });

  it("refuses bad input with a code the script can catch, and sends nothing", async () => {
    const before = sink.received();
    const script = await deploy(
      "bad",
      `export default async () => {
        const codes = [];
        for (const message of [
          { to: "not an address", subject: "s", text: "t" },
          { to: "a@example.com\\r\\nBcc: x@example.com", subject: "s", text: "t" },
          { to: "a@example.com", subject: "s", text: "x".repeat(3000) },
        ]) { try { await email.send(message); codes.push("sent"); } catch (e) { codes.push(e.code); } }
        return codes;
      }`,
    );
    const [run] = await finished(await invoke(script));
    expect(run?.result).toEqual(["invalid_address", "invalid_address", "sent"]);
    expect(sink.received()).toBe(before + 1);
  });

  it("uses the app's own SMTP_URL and EMAIL_FROM, and its recipient allowlist", async () => {
    const app2 = (await admin.post("/api/v1/admin/apps", { name: "own-smtp" })).json.id;
    await admin.post(`/api/v1/admin/apps/${app2}/secrets`, { name: "SMTP_URL", value: appSink.url });
    await admin.post(`/api/v1/admin/apps/${app2}/secrets`, { name: "EMAIL_FROM", value: "app@own.test" });
    await admin.post(`/api/v1/admin/apps/${app2}/secrets`, { name: "EMAIL_ALLOWED_RECIPIENTS", value: ["@allowed.test"] });
    const script = (await admin.post(`/api/v1/admin/apps/${app2}/scripts`, {
      name: "own",
      source: `export default async () => {
        const sent = await email.send({ to: "x@allowed.test", subject: "own", text: "t" });
        let refused = null;
        try { await email.send({ to: "x@elsewhere.test", subject: "no", text: "t" }); } catch (e) { refused = e.code; }
        return { accepted: sent.accepted, refused };
      }`,
    })).json.id;
    const eventId = (await admin.post(`/api/v1/admin/apps/${app2}/scripts/${script}/invoke`, { payload: {} })).json.event_id;
    const [run] = await finished(eventId);
    expect(run?.result).toEqual({ accepted: ["x@allowed.test"], refused: "recipient_not_allowed" });
    expect(appSink.messages).toHaveLength(1);
    expect(appSink.messages[0]?.from).toBe("app@own.test");
    // An allowlist of the wrong form refuses sends; it never lifts the restriction.
    await admin.post(`/api/v1/admin/apps/${app2}/secrets`, { name: "EMAIL_ALLOWED_RECIPIENTS", value: { anyone: true } });
    const [refusedRun] = await finished((await admin.post(`/api/v1/admin/apps/${app2}/scripts/${script}/invoke`, { payload: {} })).json.event_id);
    expect(refusedRun?.error).toMatchObject({ code: "not_configured" });
    expect(appSink.messages).toHaveLength(1);
  });

  it("sends a message once even when the run that sent it is retried", async () => {
    const script = await deploy(
      "once",
      `export default async (event, ctx) => {
        await email.send({ to: "once@example.com", subject: "only once " + ctx.run.event_id, text: "t" });
        if (ctx.run.attempt === 1) throw new Error("fail after sending");
        return "done";
      }`,
    );
    await admin.post(`/api/v1/admin/apps/${appId}/triggers`, { kind: "http", name: "once-hook", script_id: script, retry: { max_attempts: 3, backoff: "fixed", base_ms: 20 } });
    const trigger = (await admin.get(`/api/v1/admin/apps/${appId}/triggers`)).json.triggers.find((t: { name: string }) => t.name === "once-hook");
    const eventId = (await client(built.app, null).call("POST", trigger.url, "{}", { "content-type": "application/json" })).json.event_id;
    const done = await waitFor(async () => {
      const rows = await runsOf(eventId);
      return rows.some((r) => r.status === "ok") && rows;
    });
    expect(done.map((r) => r.status)).toEqual(["error", "ok"]);
    expect(sink.messages.filter((m) => m.raw.includes(Buffer.from(`only once ${eventId}`)))).toHaveLength(1);
    const log = (await admin.get(`/api/v1/admin/apps/${appId}/emails`)).json.emails.filter((m: { subject: string }) => m.subject === `only once ${eventId}`);
    expect(log).toHaveLength(1);
  });

  it("retries while the SMTP server is down, then dead-letters with the error", async () => {
    const down = await startSmtpSink();
    const downUrl = down.url;
    await down.close();
    const app3 = (await admin.post("/api/v1/admin/apps", { name: "smtp-down" })).json.id;
    await admin.post(`/api/v1/admin/apps/${app3}/secrets`, { name: "SMTP_URL", value: downUrl });
    const script = (await admin.post(`/api/v1/admin/apps/${app3}/scripts`, { name: "down", source: `export default () => email.send({ to: "a@example.com", subject: "s", text: "t" })` })).json.id;
    const trigger = (await admin.post(`/api/v1/admin/apps/${app3}/triggers`, { kind: "http", name: "down", script_id: script, retry: { max_attempts: 3, backoff: "fixed", base_ms: 20 } })).json;
    const eventId = (await client(built.app, null).call("POST", trigger.url, "{}", { "content-type": "application/json" })).json.event_id;
    const [dead] = await waitFor(async () => {
      const rows = await ctx.database.db.select().from(deadLetters).where(eq(deadLetters.eventId, eventId));
      return rows.length > 0 && rows;
    });
    const attempts = await runsOf(eventId);
    expect(attempts.map((r) => [r.status, (r.error as { code: string }).code])).toEqual([
      ["error", "smtp_unavailable"],
      ["error", "smtp_unavailable"],
      ["error", "smtp_unavailable"],
    ]);
    expect(dead?.attempts).toBe(3);
    expect((dead?.lastError as { code: string; message: string }).message).toMatch(/unreachable/);
    const failures = (await admin.get(`/api/v1/admin/apps/${app3}/emails?status=failed`)).json.emails;
    expect(failures).toHaveLength(3);
    expect(failures[0].error.code).toBe("smtp_unavailable");
  });

  it("never lets an app's or workspace's email limits lift the ones set above it", async () => {
    // The operator's global limits, then a workspace token (which may write its apps' secrets) trying to widen them.
    await admin.post("/api/v1/admin/global/secrets", { name: "EMAIL_ALLOWED_SENDERS", value: "@ops.example" });
    await admin.post("/api/v1/admin/global/secrets", { name: "EMAIL_RATE_LIMIT_PER_MINUTE", value: 1 });
    try {
      const ws = (await admin.post("/api/v1/admin/workspaces", { name: "bank-ws" })).json.id;
      const bankApp = (await admin.post("/api/v1/admin/apps", { name: "bank", workspace_id: ws })).json.id;
      const tenant = client(built.app, (await admin.post("/api/v1/admin/tokens", { name: "bank-tenant", scopes: ["secrets:write"], workspace_id: ws })).json.token);
      expect((await tenant.post(`/api/v1/admin/apps/${bankApp}/secrets`, { name: "EMAIL_ALLOWED_SENDERS", value: "@bank.example" })).status).toBe(201);
      expect((await tenant.post(`/api/v1/admin/apps/${bankApp}/secrets`, { name: "EMAIL_RATE_LIMIT_PER_MINUTE", value: 1000 })).status).toBe(201);
      const script = (await admin.post(`/api/v1/admin/apps/${bankApp}/scripts`, {
        name: "spoof",
        source: `export default async () => {
          const codes = [];
          for (const from of ["ceo@bank.example", "alerts@ops.example"]) {
            try { await email.send({ from, to: "victim@example.com", subject: "wire", text: "t" }); codes.push("sent"); } catch (e) { codes.push(e.code); }
          }
          return codes;
        }`,
      })).json.id;
      const before = sink.received();
      const [run] = await finished((await admin.post(`/api/v1/admin/apps/${bankApp}/scripts/${script}/invoke`, { payload: {} })).json.event_id);
      // Nothing is both @ops.example and @bank.example: the spoofed sender and every other one are refused.
      expect(run?.result).toEqual(["sender_not_allowed", "sender_not_allowed"]);
      expect(sink.received()).toBe(before);

      // Narrowing the senders to the operator's domain works; the rate is the lowest of the two.
      await tenant.post(`/api/v1/admin/apps/${bankApp}/secrets`, { name: "EMAIL_ALLOWED_SENDERS", value: "alerts@ops.example" });
      const twice = (await admin.post(`/api/v1/admin/apps/${bankApp}/scripts`, {
        name: "twice",
        source: `export default async () => {
          const codes = [];
          for (const from of ["alerts@ops.example", "alerts@ops.example", "other@ops.example"]) {
            try { await email.send({ from, to: "victim@example.com", subject: "ok", text: "t" }); codes.push("sent"); } catch (e) { codes.push(e.code); }
          }
          return codes;
        }`,
      })).json.id;
      const [second] = await finished((await admin.post(`/api/v1/admin/apps/${bankApp}/scripts/${twice}/invoke`, { payload: {} })).json.event_id);
      expect(second?.result).toEqual(["sent", "rate_limited", "sender_not_allowed"]);
      expect(sink.received()).toBe(before + 1);
    } finally {
      await admin.delete("/api/v1/admin/global/secrets/EMAIL_ALLOWED_SENDERS");
      await admin.delete("/api/v1/admin/global/secrets/EMAIL_RATE_LIMIT_PER_MINUTE");
    }
  });

  it("pages the send log only by a cursor from the same app: another app's message id is 400 invalid_cursor", async () => {
    const other = (await admin.post("/api/v1/admin/apps", { name: "cursor-other" })).json.id;
    const script = (await admin.post(`/api/v1/admin/apps/${other}/scripts`, { name: "one", source: `export default () => email.send({ to: "a@example.com", subject: "elsewhere", text: "t" })` })).json.id;
    await finished((await admin.post(`/api/v1/admin/apps/${other}/scripts/${script}/invoke`, { payload: {} })).json.event_id);
    const [foreign] = (await admin.get(`/api/v1/admin/apps/${other}/emails`)).json.emails;
    expect(foreign?.subject).toBe("elsewhere");
    for (const before of [foreign.id, "msg_does_not_exist"]) {
      const res = await admin.get(`/api/v1/admin/apps/${appId}/emails?before=${before}`);
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe("invalid_cursor");
    }
    const own = (await admin.get(`/api/v1/admin/apps/${appId}/emails?limit=1`)).json.emails;
    expect((await admin.get(`/api/v1/admin/apps/${appId}/emails?before=${own[0].id}`)).status).toBe(200);
  });

  it("fails with not_configured when no SMTP is set, and captures in dev instead", async () => {
    // Last test: the shared worker stops so that each of these runs the event.
    await built.services.stop();
    const source = `export default async () => { try { return await email.send({ to: "a@example.com", subject: "captured?", text: "the body" }); } catch (e) { return e.code; } }`;
    const bare = await managerFor(ctx.database, { worker: true, keyring: built.keyring });
    const api = client(bare.app, built.adminToken!);
    const app4 = (await api.post("/api/v1/admin/apps", { name: "no-smtp" })).json.id;
    const script = (await api.post(`/api/v1/admin/apps/${app4}/scripts`, { name: "try", source })).json.id;
    try {
      const [run] = await finished((await api.post(`/api/v1/admin/apps/${app4}/scripts/${script}/invoke`, { payload: {} })).json.event_id);
      expect(run?.result).toBe("not_configured");
    } finally {
      await bare.services.stop();
    }
    const dev = await managerFor(ctx.database, { worker: true, keyring: built.keyring, settings: { captureEmail: true } });
    try {
      const devApi = client(dev.app, built.adminToken!);
      const [run] = await finished((await devApi.post(`/api/v1/admin/apps/${app4}/scripts/${script}/invoke`, { payload: {} })).json.event_id);
      expect(run?.result).toMatchObject({ accepted: ["a@example.com"], rejected: [] });
      const [captured] = (await devApi.get(`/api/v1/admin/apps/${app4}/emails?status=captured`)).json.emails;
      expect(captured).toMatchObject({ status: "captured", from: "switchyard@dev.localhost", to: ["a@example.com"], subject: "captured?" });
      expect((await devApi.get(`/api/v1/admin/apps/${app4}/emails/${captured.id}`)).json.text).toBe("the body");
    } finally {
      await dev.services.stop();
    }
  });

  it("sends through an app's SMTP_URL only to a server the operator allows", async () => {
    // Each worker here must be the only one (the test above stops the shared worker too).
    await built.services.stop();
    const source = `export default async () => { try { return await email.send({ from: "app@own.test", to: "a@example.com", subject: "via the app's server", text: "t" }); } catch (e) { return { code: e.code, message: e.message }; } }`;
    const withList = (list: string) => managerFor(ctx.database, { worker: true, keyring: built.keyring, settings: { smtpUrl: sink.url, smtpAllowedHosts: parseSmtpHostRules(list) } });
    const strict = await withList("smtp.sendgrid.net, *.mailgun.org");
    const api = client(strict.app, built.adminToken!);
    const app5 = (await api.post("/api/v1/admin/apps", { name: "own-smtp-checked" })).json.id;
    const appUrl = new URL(appSink.url);
    appUrl.username = "apikey";
    appUrl.password = "s3cret-smtp-password";
    await api.post(`/api/v1/admin/apps/${app5}/secrets`, { name: "SMTP_URL", value: appUrl.toString() });
    const script = (await api.post(`/api/v1/admin/apps/${app5}/scripts`, { name: "own", source })).json.id;
    const before = { app: appSink.messages.length, operator: sink.received() };
    const invokeOn = async (a: typeof api) => (await finished((await a.post(`/api/v1/admin/apps/${app5}/scripts/${script}/invoke`, { payload: {} })).json.event_id))[0];
    try {
      const run = await invokeOn(api);
      expect(run?.status).toBe("ok");
      expect(run?.result).toMatchObject({ code: "smtp_host_not_allowed" });
      expect((run?.result as { message: string }).message).toContain(`${appUrl.hostname}:${appUrl.port}`);
      expect(JSON.stringify(run)).not.toContain("s3cret-smtp-password");
      // Refused before connecting, and not sent through the operator's server instead.
      expect(appSink.messages.length).toBe(before.app);
      expect(sink.received()).toBe(before.operator);
    } finally {
      await strict.services.stop();
    }
    await api.post(`/api/v1/admin/apps/${app5}/secrets`, { name: "SMTP_URL", value: appSink.url });
    const open = await withList(`*.mailgun.org ${appUrl.host}`);
    try {
      const run = await invokeOn(client(open.app, built.adminToken!));
      expect(run?.result).toMatchObject({ accepted: ["a@example.com"], rejected: [] });
      expect(appSink.messages.length).toBe(before.app + 1);
    } finally {
      await open.services.stop();
    }
  });

  it("masks the secrets a run read in the send log's subject and captured body, and records the script", async () => {
    await built.services.stop();
    const dev = await managerFor(ctx.database, { worker: true, keyring: built.keyring, settings: { captureEmail: true } });
    try {
      const api = client(dev.app, built.adminToken!);
      const app6 = (await api.post("/api/v1/admin/apps", { name: "masked-log" })).json.id;
      await api.post(`/api/v1/admin/apps/${app6}/secrets`, { name: "TOKEN", value: "tok_live_4f9a8b7c6d5e" });
      const script = (await api.post(`/api/v1/admin/apps/${app6}/scripts`, {
        name: "leaky",
        source: `let cached = null;
          export default async () => {
            // Read once and kept in the warm context, as scripts do: the next run uses it without reading it.
            cached ??= await secrets.get("TOKEN");
            return email.sendHtml({ to: "a@example.com", subject: "token " + cached, text: "text " + cached, html: "<b>" + cached + "</b>" });
          }`,
      })).json.id;
      for (let i = 0; i < 2; i++) {
        const [run] = await finished((await api.post(`/api/v1/admin/apps/${app6}/scripts/${script}/invoke`, { payload: {} })).json.event_id);
        expect(run?.status).toBe("ok");
      }
      const log = (await api.get(`/api/v1/admin/apps/${app6}/emails`)).json.emails;
      expect(log).toHaveLength(2);
      for (const row of log) {
        expect(row).toMatchObject({ status: "captured", subject: "token [secret:TOKEN]", script_id: script });
        const full = (await api.get(`/api/v1/admin/apps/${app6}/emails/${row.id}`)).json;
        expect(full).toMatchObject({ text: "text [secret:TOKEN]", html: "<b>[secret:TOKEN]</b>" });
      }
      const stored = await ctx.database.db.select().from(emailMessages).where(eq(emailMessages.appId, app6));
      expect(JSON.stringify(stored)).not.toContain("tok_live_4f9a8b7c6d5e");
    } finally {
      await dev.services.stop();
    }
  });

  it("never connects an app's SMTP_URL to an internal port, and never shows the script what answered there", async () => {
    await built.services.stop();
    // Something on this machine that is not an SMTP server: an SSH daemon's banner, counted per connection.
    const BANNER = "SSH-2.0-OpenSSH_8.9 INTERNAL-BANNER-db01.corp";
    let connections = 0;
    const ssh = net.createServer((socket) => {
      connections++;
      socket.on("error", () => {});
      socket.write(`${BANNER}\r\n`);
      setTimeout(() => socket.destroy(), 200);
    });
    await new Promise<void>((resolve) => ssh.listen(0, "127.0.0.1", resolve));
    const port = (ssh.address() as net.AddressInfo).port;
    const withSettings = (settings: Partial<ServiceSettings>) => managerFor(ctx.database, { worker: true, keyring: built.keyring, settings: { smtpUrl: sink.url, ...settings } });
    const source = `export default async () => {
      try { return await email.send({ from: "app@own.test", to: "a@example.com", subject: "probe", text: "t" }); }
      catch (e) { console.log("send failed:", e.code, e.message); if (e.code === "smtp_host_not_allowed") throw e; return { code: e.code, message: e.message }; }
    }`;
    const byDefault = await withSettings({});
    const api = client(byDefault.app, built.adminToken!);
    const app7 = (await api.post("/api/v1/admin/apps", { name: "port-scan" })).json.id;
    const script = (await api.post(`/api/v1/admin/apps/${app7}/scripts`, { name: "probe", source })).json.id;
    const invokeOn = async (a: typeof api) => (await finished((await a.post(`/api/v1/admin/apps/${app7}/scripts/${script}/invoke`, { payload: {} })).json.event_id))[0];
    try {
      for (const host of ["127.0.0.1", "2130706433", "localhost"]) {
        await api.post(`/api/v1/admin/apps/${app7}/secrets`, { name: "SMTP_URL", value: `smtp://${host}:${port}` });
        const run = await invokeOn(api);
        expect(run?.status, host).toBe("error");
        expect(run?.error).toMatchObject({ code: "smtp_host_not_allowed" });
        expect(JSON.stringify(run)).not.toMatch(/SSH-2\.0|INTERNAL-BANNER/);
      }
      expect(connections).toBe(0);
    } finally {
      await byDefault.services.stop();
    }
    // The operator opens the port to apps: the connection happens, and still only a code and a fixed message come back.
    await api.post(`/api/v1/admin/apps/${app7}/secrets`, { name: "SMTP_URL", value: `smtp://127.0.0.1:${port}` });
    const opened = await withSettings({ smtpAllowedHosts: parseSmtpHostRules(`127.0.0.1:${port}`) });
    try {
      const run = await invokeOn(client(opened.app, built.adminToken!));
      expect(connections).toBeGreaterThan(0);
      expect(run?.result).toEqual({ code: "smtp_unavailable", message: "the SMTP server is unreachable; the run is retried" });
      expect(JSON.stringify(run)).not.toMatch(/SSH-2\.0|INTERNAL-BANNER/);
      const log = await ctx.database.db.select().from(emailMessages).where(eq(emailMessages.appId, app7));
      expect(log.length).toBeGreaterThan(0);
      expect(JSON.stringify(log)).not.toMatch(/SSH-2\.0|INTERNAL-BANNER/);
    } finally {
      await opened.services.stop();
      await new Promise<void>((resolve) => ssh.close(() => resolve()));
    }
  });
});
