import { createHmac, randomBytes } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { auditLog, runs } from "@switchyard/db";
import { startSmtpSink, type SmtpSink } from "@switchyard/email/testing";
import { parseConfig } from "@switchyard/server";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor } from "./support/manager.ts";
import { startRecordingServer, type RecordingServer } from "./support/recording-server.ts";
import { waitFor } from "./support/wait.ts";

// Host-bound secrets end to end (issue #16): a script holds only a
// placeholder; host A (the binding) receives the value wherever the script
// put the placeholder; host B, mail, the run's result and logs never see
// it, however the script dresses the placeholder up. Both servers keep
// every byte they receive.

const VALUE = `sk_live_${randomBytes(16).toString("hex")}`;
// A value that URL parsers, JSON encoders and HTML templates each write differently.
const ODD = `pa'ss!w\u00f6rd<&>/~(${randomBytes(6).toString("hex")})`;
/** How servers in other languages write a value back: Python's ensure_ascii, Go's JSON, PHP's, lower-case percent, HTML, base64. */
const escapings = (value: string) => {
  const json = JSON.stringify(value).slice(1, -1);
  return [
    json.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`),
    json.replace(/[<>&]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`),
    json.replace(/\//g, "\\/"),
    encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()),
    value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/'/g, "&#39;"),
    Buffer.from(value).toString("base64"),
  ];
};
const forms = (value: string) => [value, Buffer.from(value).toString("base64"), [...value].reverse().join(""), [...value].map((c) => c.charCodeAt(0)).join(",")];

describeEachDriver("host-bound secrets", (ctx) => {
  let built: Awaited<ReturnType<typeof managerFor>>;
  let admin: ReturnType<typeof client>;
  let a: RecordingServer;
  let b: RecordingServer;
  let sink: SmtpSink;
  let appId: string;

  async function run(source: string, payload: unknown = {}, as = admin) {
    const deployed = await as.post(`/api/v1/admin/apps/${appId}/scripts`, { name: `s${Math.random().toString(36).slice(2, 8)}`, source });
    expect(deployed.status, JSON.stringify(deployed.json)).toBe(201);
    const invoked = await as.post(`/api/v1/admin/apps/${appId}/scripts/${deployed.json.id}/invoke`, { payload });
    expect(invoked.status, JSON.stringify(invoked.json)).toBe(202);
    return waitFor(async () => {
      const [row] = await ctx.database.db.select().from(runs).where(eq(runs.eventId, invoked.json.event_id));
      return row && row.status !== "running" && row;
    }, 30_000);
  }

  const auditOf = async (runId: string) =>
    (await ctx.database.db.select().from(auditLog).where(eq(auditLog.actorId, runId))).filter((row) => row.action === "secret.used" || row.action === "secret.denied").map((row) => ({ action: row.action, outcome: row.outcome, name: row.name, destination: (row.details as { destination?: string } | null)?.destination }));

  /** Every row of the tables a run's traces land in, as text. */
  async function everythingStored(): Promise<string> {
    const tables = ["runs", "audit_log", "email_messages", "outbox", "dead_letters"];
    const texts: string[] = [];
    for (const table of tables) {
      const rows = (await ctx.database.db.execute(sql.raw(`select row_to_json(t)::text as j from ${table} t`))) as unknown as { rows?: { j: string }[] } | { j: string }[];
      const list = Array.isArray(rows) ? rows : (rows.rows ?? []);
      texts.push(...list.map((r) => r.j));
    }
    return texts.join("\n");
  }

  beforeAll(async () => {
    a = await startRecordingServer((req, res) => {
      if (req.url.startsWith("/redirect")) {
        res.writeHead(307, { location: `${b.origin}/landed` });
        return void res.end();
      }
      // An echo endpoint: reflects what it got, as some APIs' error pages do.
      if (req.url.startsWith("/echo")) return void res.end(JSON.stringify({ headers: req.headers, body: req.body, url: req.url }));
      // The value written back the ways other languages' servers write it.
      if (req.url.startsWith("/escaped")) return void res.end(escapings(String(req.headers["x-api-key"])).join("\n"));
      // An answer in a coding the host cannot decode, with the value inside.
      if (req.url.startsWith("/zstd")) {
        res.writeHead(200, { "content-encoding": "zstd" });
        return void res.end(`zstd?${String(req.headers["x-api-key"])}`);
      }
      if (req.url.startsWith("/missing")) {
        res.writeHead(404);
        return void res.end("not found");
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"ok":true}');
    });
    b = await startRecordingServer();
    sink = await startSmtpSink();
    const settings = parseConfig({
      SWITCHYARD_EGRESS_ALLOW: `${a.host}, ${b.host}`,
      SWITCHYARD_SMTP_URL: sink.url,
      SWITCHYARD_SMTP_ALLOWED_HOSTS: "127.0.0.1",
      SWITCHYARD_EMAIL_FROM: "Switchyard <noreply@switchyard.test>",
    });
    built = await managerFor(ctx.database, { worker: true, settings });
    admin = client(built.app, built.adminToken!);
    appId = (await admin.post("/api/v1/admin/apps", { name: "bound" })).json.id;
    for (const [name, value, bound_hosts] of [
      ["STRIPE_KEY", VALUE, [a.host]],
      ["ODD_KEY", ODD, [a.host]],
      // No port named: https only, so never to A's plain http.
      ["TLS_ONLY", VALUE, ["127.0.0.1"]],
    ] as const) {
      const set = await admin.post(`/api/v1/admin/apps/${appId}/secrets`, { name, value, bound_hosts });
      expect(set.status, JSON.stringify(set.json)).toBe(201);
    }
  });
  afterAll(async () => {
    await built?.services.stop();
    await Promise.all([a?.close(), b?.close(), sink?.close()]);
  });

  it("puts the value in a header, the URL, a JSON body, a form body and Basic credentials for the bound host, while the script holds a placeholder", async () => {
    const row = await run(
      `export default async (event) => {
        const t = await secrets.get("STRIPE_KEY");
        const again = await secrets.get("STRIPE_KEY");
        const a = event.payload.a;
        await fetch(a + "/header", { headers: { "x-api-key": t } });
        const finalUrl = (await fetch(a + "/path/" + t + "?key=" + t)).url;
        await fetch(a + "/json", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: t }) });
        await fetch(a + "/form", { method: "POST", body: new URLSearchParams({ token: t }) });
        await fetch(a + "/basic", { headers: { authorization: "Basic " + btoa("user:" + t) } });
        const echoed = await (await fetch(a + "/echo", { method: "POST", headers: { "x-api-key": t }, body: "k=" + t })).text();
        return { t, same: t === again, echoed, finalUrl };
      }`,
      { a: a.origin },
    );
    expect(row.error).toBeNull();
    const result = row.result as { t: string; same: boolean; echoed: string; finalUrl: string };
    expect(result.finalUrl).toBe(`${a.origin}/path/${result.t}?key=${result.t}`);
    expect(result.t).toMatch(/^sy_bound_[A-Za-z0-9_-]{32}$/);
    expect(result.same).toBe(true);
    const seen = (path: string) => a.requests.find((r) => r.url.startsWith(path));
    expect(seen("/header")?.headers["x-api-key"]).toBe(VALUE);
    expect(seen("/path/")?.url).toBe(`/path/${VALUE}?key=${VALUE}`);
    expect(JSON.parse(seen("/json")?.body ?? "null")).toEqual({ token: VALUE });
    expect(new URLSearchParams(seen("/form")?.body).get("token")).toBe(VALUE);
    expect(Buffer.from(String(seen("/basic")?.headers.authorization).replace(/^Basic /, ""), "base64").toString()).toBe(`user:${VALUE}`);
    // The echo reached the script with the value taken back out.
    expect(seen("/echo")?.headers["x-api-key"]).toBe(VALUE);
    expect(result.echoed).not.toContain(VALUE);
    expect(result.echoed).toContain(result.t);
    // One use per host however many requests; the placeholder returned in the result is audited as denied.
    expect(await auditOf(row.id)).toEqual([
      { action: "secret.used", outcome: "ok", name: "STRIPE_KEY", destination: a.host },
      { action: "secret.denied", outcome: "denied", name: "STRIPE_KEY", destination: "result" },
    ]);
    expect(await everythingStored()).not.toContain(VALUE);
  });

  it("refuses the placeholder to another host, through a redirect, by mail, and keeps it (audited) in the result and logs; encoded forms carry nothing", async () => {
    const before = sink.received();
    const row = await run(
      `export default async (event) => {
        const t = await secrets.get("STRIPE_KEY");
        const { a, b } = event.payload;
        const code = async (p) => { try { await p; return "sent"; } catch (e) { return e.code ?? e.name; } };
        const out = {};
        out.direct = await code(fetch(b + "/direct", { headers: { "x-api-key": t } }));
        out.redirect = await code(fetch(a + "/redirect", { method: "POST", headers: { "x-api-key": t }, body: t }));
        out.mail = await code(email.send({ to: "someone@example.com", subject: "key", text: "the key is " + t }));
        const dressed = { btoa: btoa(t), split: t.split("").join("-"), reversed: [...t].reverse().join(""), codes: [...t].map((c) => c.charCodeAt(0)).join(","), json: JSON.stringify({ t }), uri: encodeURIComponent(t) };
        for (const [how, text] of Object.entries(dressed)) out[how] = await code(fetch(b + "/" + how, { method: "POST", body: text }));
        console.log("leaking", t);
        out.t = t;
        return out;
      }`,
      { a: a.origin, b: b.origin },
    );
    expect(row.error).toBeNull();
    const out = row.result as Record<string, string>;
    expect(out).toMatchObject({ direct: "secret_host_mismatch", redirect: "secret_host_mismatch", mail: "secret_host_mismatch", json: "secret_host_mismatch", uri: "secret_host_mismatch" });
    // Transformed placeholders are sent: they hold no value.
    expect(out).toMatchObject({ btoa: "sent", split: "sent", reversed: "sent", codes: "sent" });
    expect(b.requests.some((r) => r.url === "/landed")).toBe(false);
    for (const form of forms(VALUE)) expect(b.received()).not.toContain(form);
    expect(sink.received()).toBe(before);
    expect(JSON.stringify(row.logs)).toContain(out.t);
    const audit = await auditOf(row.id);
    for (const destination of [b.host, "email", "log", "result"]) expect(audit).toContainEqual({ action: "secret.denied", outcome: "denied", name: "STRIPE_KEY", destination });
    // The redirect's first hop went to A, which may have the value; its target did not.
    expect(audit).toContainEqual({ action: "secret.used", outcome: "ok", name: "STRIPE_KEY", destination: a.host });
    expect(await everythingStored()).not.toContain(VALUE);
  });

  it("makes a placeholder per run: another run's means nothing and is sent as it is", async () => {
    const first = await run(`export default async () => secrets.get("STRIPE_KEY")`);
    const second = await run(`export default async (event) => { const mine = await secrets.get("STRIPE_KEY"); await fetch(event.payload.a + "/stale", { headers: { "x-api-key": event.payload.old } }); return mine; }`, { a: a.origin, old: first.result });
    expect(second.result).not.toBe(first.result);
    expect(a.requests.find((r) => r.url === "/stale")?.headers["x-api-key"]).toBe(first.result);
  });

  it("signs with a bound secret on the host: secrets.sign equals node:crypto's HMAC", async () => {
    const row = await run(`export default async () => ({
      hex: await secrets.sign("STRIPE_KEY", "t=1,payload"),
      b64: await secrets.sign("STRIPE_KEY", "t=1,payload", { algorithm: "HMAC-SHA512", encoding: "base64" }),
      bytes: await secrets.sign("STRIPE_KEY", new Uint8Array([0, 255, 128, 7])),
      missing: await secrets.sign("NOPE", "x").catch((e) => e.code),
      bad: await secrets.sign("STRIPE_KEY", "x", { algorithm: "MD5" }).catch((e) => e.code),
      // A run signs at most 64 MiB in all: the ninth sign of nearly 8 MiB is refused.
      budget: await (async () => { const big = "x".repeat(8 * 1024 * 1024 - 1024); const codes = []; for (let i = 0; i < 9; i++) codes.push(await secrets.sign("STRIPE_KEY", big).then(() => "ok", (e) => e.code)); return codes.join(","); })(),
    })`);
    expect(row.error).toBeNull();
    expect(row.result).toEqual({
      hex: createHmac("sha256", VALUE).update("t=1,payload").digest("hex"),
      b64: createHmac("sha512", VALUE).update("t=1,payload").digest("base64"),
      bytes: createHmac("sha256", VALUE).update(Buffer.from([0, 255, 128, 7])).digest("hex"),
      missing: "not_found",
      bad: "invalid_argument",
      budget: "ok,ok,ok,ok,ok,ok,ok,ok,too_large",
    });
  });

  it("never hands the value back through response.url, an escaped echo, a byte range or an undecodable coding", async () => {
    const row = await run(
      `export default async (event) => {
        const t = await secrets.get("ODD_KEY");
        const a = event.payload.a;
        const out = {};
        out.url = (await fetch(a + "/plain?key=" + t)).url;
        out.missing = (await fetch(a + "/missing/" + t + "?q=" + t)).url;
        out.escaped = await (await fetch(a + "/escaped", { headers: { "x-api-key": t, "accept-encoding": "identity", range: "bytes=3-" } })).text();
        out.zstd = await fetch(a + "/zstd", { headers: { "x-api-key": t, "accept-encoding": "zstd" } }).then((r) => r.text(), (e) => e.code);
        out.tls = await fetch(a + "/tls", { headers: { "x-api-key": await secrets.get("TLS_ONLY") } }).then(() => "sent", (e) => e.code);
        out.t = t;
        return out;
      }`,
      { a: a.origin },
    );
    expect(row.error).toBeNull();
    const out = row.result as Record<string, string>;
    expect(out.url).toBe(`${a.origin}/plain?key=${out.t}`);
    expect(out.missing).toBe(`${a.origin}/missing/${out.t}?q=${out.t}`);
    // The host asked for the answer whole and in a coding it decodes, whatever the script said.
    const escaped = a.requests.find((r) => r.url === "/escaped");
    expect(escaped?.headers["x-api-key"]).toBe(ODD);
    expect(escaped?.headers.range).toBeUndefined();
    expect(escaped?.headers["accept-encoding"]).toBe("gzip, deflate, br");
    expect(String(out.escaped).split("\n")).toHaveLength(escapings(ODD).length);
    expect(out.zstd).toBe("egress_denied");
    expect(out.tls).toBe("secret_host_mismatch");
    expect(a.requests.some((r) => r.url === "/tls")).toBe(false);
    // What the script got, as it got it (JSON would escape the escapes), and everything stored.
    const stored = `${Object.values(out).join("\n")}\n${await everythingStored()}`;
    for (const form of [ODD, encodeURIComponent(ODD), encodeURIComponent(ODD).replace(/'/g, "%27"), ...escapings(ODD)]) expect(stored).not.toContain(form);
  });

  it("gives a token that may deploy scripts but not reveal secrets no route to the value but through its bound host", async () => {
    const made = await admin.post("/api/v1/admin/tokens", { name: "deployer", scopes: ["scripts:read", "scripts:write", "runs:read", "secrets:read"] });
    expect(made.status).toBe(201);
    const deployer = client(built.app, made.json.token);
    const row = await run(`export default async () => ({ v: await secrets.get("STRIPE_KEY"), names: await secrets.list() })`, {}, deployer);
    expect(JSON.stringify(row.result)).not.toContain(VALUE);
    const answers = [
      await deployer.post(`/api/v1/admin/apps/${appId}/secrets/STRIPE_KEY/reveal`, {}),
      await deployer.get(`/api/v1/admin/apps/${appId}/secrets/STRIPE_KEY`),
      await deployer.get(`/api/v1/admin/apps/${appId}/secrets/STRIPE_KEY/versions`),
      await deployer.get(`/api/v1/admin/apps/${appId}/secrets`),
      await deployer.get(`/api/v1/admin/apps/${appId}/runs/${row.id}`),
      await deployer.get(`/api/v1/admin/apps/${appId}/audit`),
    ];
    expect(answers[0]?.status).toBe(403);
    for (const answer of answers) expect(JSON.stringify(answer.json)).not.toContain(VALUE.slice(8, 20));
  });
});
