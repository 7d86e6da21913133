import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runScript } from "./index.ts";

describe("runScript", () => {
  let server: Server;
  let origin: string;
  beforeAll(async () => {
    server = createServer((req, res) => res.end(`hello ${req.url}`));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test("returns the mail the script sent (captured, masked like the send log), its logs and its result", async () => {
    const run = await runScript({
      language: "ts",
      source: `export default async (event: Switchyard.ManualEvent, ctx: Switchyard.Context) => {
        const key = await secrets.get<string>("API_KEY");
        console.info("key is", key, "names", await secrets.list());
        await email.sendHtml({ to: ["a@example.com"], cc: "c@example.com", subject: "Order " + event.payload.id, html: "<p>" + key + "</p>", text: "plain" });
        return { app: ctx.app.name, trigger: ctx.trigger };
      }`,
      event: { kind: "manual", payload: { id: 9 } },
      secrets: { API_KEY: "sk_live_0123456789", EMAIL_FROM: "Shop <shop@example.com>" },
    });
    expect(run.status).toBe("ok");
    expect(run.result).toEqual({ app: "local", trigger: null });
    expect(run.logs).toEqual([expect.objectContaining({ level: "info", message: 'key is [secret:API_KEY] names [ "API_KEY", "EMAIL_FROM" ]' })]);
    expect(run.mail).toEqual([
      expect.objectContaining({ kind: "html", from: "shop@example.com", to: ["a@example.com"], cc: ["c@example.com"], subject: "Order 9", text: "plain", html: "<p>[secret:API_KEY]</p>" }),
    ]);
    expect(run.secretsRead).toEqual(["API_KEY"]);
  });

  test("gives ctx.trigger the event's kind, and fails as production does: SDK codes, control-flow errors, compile errors", async () => {
    const hook = await runScript({ source: "export default (event, ctx) => [ctx.trigger.kind, event.http.path]", event: { kind: "http", http: { method: "POST", path: "/x", query: {}, headers: {}, body: "" } } });
    expect(hook.result).toEqual(["http", "/x"]);
    const refused = await runScript({ source: 'export default () => email.send({ to: "nobody", subject: "s", text: "t" })' });
    expect(refused.status).toBe("error");
    expect(refused.error?.code).toBe("invalid_address");
    expect(refused.mail).toEqual([]);
    const later = await runScript({ source: 'export default () => { throw new RetryAfterError("busy", 5000) }' });
    expect(later.error?.retry).toEqual({ kind: "retry_after", delayMs: 5000 });
    const broken = await runScript({ source: "export default () => {", filename: "hook.ts" });
    expect(broken.status).toBe("compile_error");
    expect(broken.diagnostics[0]).toEqual(expect.objectContaining({ line: 1 }));
  });

  test("runs under production's limits: a busy loop is stopped at the CPU limit", async () => {
    const run = await runScript({ source: "export default () => { for (;;) {} }", limits: { cpuMs: 200 } });
    expect(run.status).toBe("timeout");
  });

  test("signs with a secret on the host, as production does", async () => {
    const run = await runScript({ source: 'export default () => secrets.sign("K", "payload", { algorithm: "HMAC-SHA512", encoding: "base64" })', secrets: { K: "key-material" } });
    expect(run.result).toBe(createHmac("sha512", "key-material").update("payload").digest("base64"));
  });

  test("fetch follows the production egress policy: loopback is refused unless opened", async () => {
    const source = "export default async (event) => { try { const res = await fetch(event.payload.url); return await res.text(); } catch (e) { return e.code; } }";
    const event = { kind: "manual", payload: { url: `${origin}/ping` } };
    const closed = await runScript({ source, event });
    expect(closed.result).toBe("egress_denied");
    expect(closed.subrequests).toEqual([expect.objectContaining({ outcome: "egress_denied", status: null })]);
    const opened = await runScript({ source, event, egressAllow: ["127.0.0.1"] });
    expect(opened.result).toBe("hello /ping");
    const narrowed = await runScript({ source, event, egressAllow: ["127.0.0.1"], secrets: { EGRESS_ALLOWED_HOSTS: "api.example.com" } });
    expect(narrowed.result).toBe("egress_denied");
  });
});
