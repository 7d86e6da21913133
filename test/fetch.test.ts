import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { Registry } from "prom-client";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runs } from "@switchyard/db";
import { parseConfig } from "@switchyard/server";
import { describeEachDriver, type DriverContext } from "./support/databases.ts";
import { countAttempts, makeCertificates, startCountingServer, type CountingServer } from "./support/fetch-servers.ts";
import { client, managerFor } from "./support/manager.ts";
import { waitFor } from "./support/wait.ts";

// Scripts' fetch through the whole path: invoke → outbox → dispatcher →
// isolate → Host.fetch → the egress client → a real node:http(s) server;
// the run row, the runs API and /metrics after it.

/** A script that fetches each of `event.payload.urls` and answers, per URL, the status or the error's code. */
const FETCH_EACH = `export default async (event) => {
  const out = [];
  for (const url of event.payload.urls) {
    try { const res = await fetch(url); out.push({ status: res.status, text: await res.text() }); }
    catch (e) { out.push({ name: e.name, code: e.code }); }
  }
  return out;
}`;

/** The manager with a worker, built from the environment variables as `serve` builds it, and helpers to run a script. */
function harness(ctx: DriverContext) {
  const state = {} as { built: Awaited<ReturnType<typeof managerFor>>; admin: ReturnType<typeof client>; metrics: Registry };
  const api = {
    async start(env: Record<string, string>) {
      state.metrics = new Registry();
      state.built = await managerFor(ctx.database, { worker: true, settings: parseConfig(env), metrics: state.metrics });
      state.admin = client(state.built.app, state.built.adminToken!);
    },
    get admin() {
      return state.admin;
    },
    metrics: async () => (await state.built.app.request("/metrics")).text(),
    stop: () => state.built?.services.stop(),
    async app(name: string, secrets: Record<string, unknown> = {}, workspaceId?: string) {
      const id = (await state.admin.post("/api/v1/admin/apps", { name, ...(workspaceId ? { workspace_id: workspaceId } : {}) })).json.id as string;
      for (const [secret, value] of Object.entries(secrets)) expect((await state.admin.post(`/api/v1/admin/apps/${id}/secrets`, { name: secret, value })).status).toBeLessThan(300);
      return id;
    },
    /** Deploys `source` into the app, invokes it with `payload` and answers its finished run row. */
    async run(appId: string, source: string, payload: unknown) {
      const deployed = await state.admin.post(`/api/v1/admin/apps/${appId}/scripts`, { name: `s${Math.random().toString(36).slice(2, 8)}`, source });
      expect(deployed.status, JSON.stringify(deployed.json)).toBe(201);
      const eventId = (await state.admin.post(`/api/v1/admin/apps/${appId}/scripts/${deployed.json.id}/invoke`, { payload })).json.event_id as string;
      return waitFor(async () => {
        const [row] = await ctx.database.db.select().from(runs).where(eq(runs.eventId, eventId));
        return row && row.status !== "running" && row;
      }, 30_000);
    },
  };
  return api;
}

describeEachDriver("scripts' fetch where the operator opened local servers", (ctx) => {
  const h = harness(ctx);
  let folder: string;
  let echo: CountingServer;
  let other: CountingServer;
  let secure: CountingServer;
  let untrusted: CountingServer;
  let appId: string;

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), "sy-fetch-e2e-"));
    const trusted = makeCertificates(mkdtempSync(join(folder, "trusted-")));
    const stranger = makeCertificates(mkdtempSync(join(folder, "stranger-")), "Someone else's CA");
    echo = await startCountingServer((req, res) => {
      if (req.url.startsWith("/big")) return void res.end("x".repeat(100 * 1024));
      if (req.url.startsWith("/slow")) return; // never answers
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify({ method: req.method, url: req.url, got: req.body ? JSON.parse(req.body) : null }));
    });
    other = await startCountingServer((_req, res) => res.end("other"));
    secure = await startCountingServer((_req, res) => res.end(JSON.stringify({ secure: true })), { tls: trusted });
    untrusted = await startCountingServer((_req, res) => res.end("should not be read"), { tls: stranger });
    await h.start({
      SWITCHYARD_EGRESS_ALLOW: [echo, other, secure, untrusted].map((s) => `127.0.0.1:${s.port}`).join(", "),
      SWITCHYARD_EGRESS_CA_FILE: trusted.caFile,
      SWITCHYARD_FETCH_MAX_SUBREQUESTS: "6",
      SWITCHYARD_FETCH_MAX_RESPONSE_BYTES: "65536",
      SWITCHYARD_FETCH_MAX_REQUEST_BYTES: "1024",
      SWITCHYARD_FETCH_TIMEOUT_MS: "1500",
    });
    appId = await h.app("fetcher", { API_TOKEN: "tok-3f9a8b7c6d5e" });
  });
  afterAll(async () => {
    await h.stop();
    await Promise.all([echo, other, secure, untrusted].map((s) => s?.close()));
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it("posts JSON and reads the answer, and the run lists the subrequest without its query, in the runs API too", async () => {
    const run = await h.run(
      appId,
      `export default async (event) => {
        const res = await fetch(event.payload.url + "/orders?page=2&sig=abc", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ order: 42 }) });
        return { status: res.status, type: res.headers.get("content-type"), body: await res.json() };
      }`,
      { url: echo.origin },
    );
    expect(run.error).toBeNull();
    expect(run.result).toEqual({ status: 201, type: "application/json", body: { method: "POST", url: "/orders?page=2&sig=abc", got: { order: 42 } } });
    const bytes = Buffer.byteLength(JSON.stringify({ method: "POST", url: "/orders?page=2&sig=abc", got: { order: 42 } }));
    expect(run.subrequests).toEqual([{ method: "POST", url: `${echo.origin}/orders`, status: 201, duration_ms: expect.any(Number), bytes, outcome: "ok" }]);

    const shown = await h.admin.get(`/api/v1/admin/apps/${appId}/runs/${run.id}`);
    expect(shown.json.subrequests).toEqual(run.subrequests);
    const listed = await h.admin.get(`/api/v1/admin/apps/${appId}/runs`);
    expect(listed.json.runs.find((r: { id: string }) => r.id === run.id)?.subrequests).toEqual(run.subrequests);
  });

  it("masks a secret the script put in the URL path on the run record, while the server got it as written", async () => {
    const run = await h.run(appId, `export default async (event) => { const t = await secrets.get("API_TOKEN"); return (await fetch(event.payload.url + "/users/" + t + "/items?key=" + t)).status; }`, { url: echo.origin });
    expect(run.result).toBe(201);
    expect(echo.requests.at(-1)?.url).toBe("/users/tok-3f9a8b7c6d5e/items?key=tok-3f9a8b7c6d5e");
    expect(run.subrequests).toMatchObject([{ url: `${echo.origin}/users/[secret:API_TOKEN]/items`, outcome: "ok" }]);
    expect(JSON.stringify(await h.admin.get(`/api/v1/admin/apps/${appId}/runs/${run.id}`))).not.toContain("tok-3f9a8b7c6d5e");
  });

  it("verifies TLS against the system roots and SWITCHYARD_EGRESS_CA_FILE: a server signed by that CA answers, another CA's is tls_failed", async () => {
    const run = await h.run(appId, FETCH_EACH, { urls: [`${secure.origin}/hello`, `${untrusted.origin}/hello`] });
    expect(run.result).toEqual([
      { status: 200, text: '{"secure":true}' },
      { name: "TypeError", code: "tls_failed" },
    ]);
    expect(untrusted.requests).toHaveLength(0);
    expect(run.subrequests).toMatchObject([
      { url: `${secure.origin}/hello`, status: 200, outcome: "ok" },
      { url: `${untrusted.origin}/hello`, status: null, bytes: 0, outcome: "tls_failed" },
    ]);
  });

  it("holds a run to the fetch limits set in the environment: subrequests, response and request bytes, timeout", async () => {
    const run = await h.run(
      appId,
      `export default async (event) => {
        const u = event.payload.url, out = [];
        const attempt = async (f) => { try { const r = await f(); out.push(r.status); } catch (e) { out.push(e.code); } };
        await attempt(() => fetch(u + "/big"));
        await attempt(() => fetch(u + "/post", { method: "POST", body: "y".repeat(2000) }));
        await attempt(() => fetch(u + "/slow"));
        while (out.length < 8) await attempt(() => fetch(u + "/small"));
        return out;
      }`,
      { url: echo.origin },
    );
    // Six subrequests in all (SWITCHYARD_FETCH_MAX_SUBREQUESTS=6): the seventh and later are refused in the sandbox.
    expect(run.result).toEqual(["egress_too_large", "egress_too_large", "egress_timeout", 201, 201, 201, "egress_limit", "egress_limit"]);
    expect(echo.requests.some((r) => r.url === "/post")).toBe(false);
    const slow = (run.subrequests as Array<{ url: string; duration_ms: number; outcome: string }>).find((s) => s.url.endsWith("/slow"));
    expect(slow?.outcome).toBe("egress_timeout");
    expect(slow?.duration_ms).toBeGreaterThanOrEqual(1400);
    expect(slow?.duration_ms).toBeLessThan(10_000);
    expect((run.subrequests as unknown[]).length).toBe(7);
  }, 30_000);

  it("lets an app's EGRESS_ALLOWED_HOSTS narrow what the operator opened, at every scope, and never widen it", async () => {
    const narrowed = await h.app("narrowed", { EGRESS_ALLOWED_HOSTS: [`127.0.0.1:${echo.port}`] });
    const before = other.connections();
    const run = await h.run(narrowed, FETCH_EACH, { urls: [`${echo.origin}/in`, `${other.origin}/out`] });
    expect(run.result).toMatchObject([{ status: 201 }, { name: "TypeError", code: "egress_denied" }]);
    expect(other.connections()).toBe(before);

    // A workspace's list binds its apps: an app listing another host does not lift it, and what is left is what both allow.
    const workspace = (await h.admin.post("/api/v1/admin/workspaces", { name: "narrow-ws" })).json.id as string;
    expect((await h.admin.post(`/api/v1/admin/workspaces/${workspace}/secrets`, { name: "EGRESS_ALLOWED_HOSTS", value: `127.0.0.1:${echo.port}` })).status).toBe(201);
    const widening = await h.app("widening", { EGRESS_ALLOWED_HOSTS: `127.0.0.1:${other.port}` }, workspace);
    const layered = await h.run(widening, FETCH_EACH, { urls: [`${echo.origin}/in`, `${other.origin}/out`] });
    expect(layered.result).toMatchObject([{ code: "egress_denied" }, { code: "egress_denied" }]);
    expect(other.connections()).toBe(before);

    // A setting that cannot be read refuses every fetch rather than counting as no restriction.
    const broken = await h.app("broken-setting", { EGRESS_ALLOWED_HOSTS: { anything: true } });
    const refused = await h.run(broken, FETCH_EACH, { urls: [`${echo.origin}/in`] });
    expect(refused.result).toMatchObject([{ code: "egress_denied" }]);
    const badEntry = await h.app("bad-entry", { EGRESS_ALLOWED_HOSTS: "http://127.0.0.1/" });
    expect((await h.run(badEntry, FETCH_EACH, { urls: [`${echo.origin}/in`] })).result).toMatchObject([{ code: "egress_denied" }]);
  });

  it("counts fetches on /metrics by outcome, with a duration histogram", async () => {
    const text = await h.metrics();
    expect(text).toMatch(/^switchyard_fetch_requests_total\{outcome="ok"\} [1-9]/m);
    expect(text).toMatch(/^switchyard_fetch_requests_total\{outcome="egress_denied"\} [1-9]/m);
    expect(text).toMatch(/^switchyard_fetch_requests_total\{outcome="egress_limit"\} [1-9]/m);
    expect(text).toMatch(/^switchyard_fetch_requests_total\{outcome="tls_failed"\} [1-9]/m);
    expect(text).toMatch(/^switchyard_fetch_duration_seconds_count [1-9]/m);
    // No fetch is in flight now: every body read was handed back to the budget.
    expect(text).toMatch(/^switchyard_fetch_buffered_bytes 0$/m);
  });
});

describeEachDriver("scripts' fetch under the default egress policy", (ctx) => {
  const h = harness(ctx);
  let home: CountingServer;
  let appId: string;

  beforeAll(async () => {
    home = await startCountingServer((_req, res) => res.end("internal"));
    await h.start({});
    appId = await h.app("ssrf");
  });
  afterAll(async () => {
    await h.stop();
    await home?.close();
  });

  it("refuses loopback in any spelling and the metadata address with TypeError egress_denied, connecting nowhere", async () => {
    const p = home.port;
    const attempts = countAttempts(p, ["169.254.169.254"]);
    let run;
    try {
      run = await h.run(appId, FETCH_EACH, { urls: [`http://127.0.0.1:${p}/`, `http://2130706433:${p}/`, `http://[::ffff:127.0.0.1]:${p}/`, "http://169.254.169.254/latest/meta-data/"] });
    } finally {
      attempts.stop();
    }
    expect(run.result).toEqual(Array.from({ length: 4 }, () => ({ name: "TypeError", code: "egress_denied" })));
    expect(home.connections()).toBe(0);
    expect(attempts.count()).toBe(0);
    expect(run.subrequests).toMatchObject([
      { url: `http://127.0.0.1:${p}/`, outcome: "egress_denied", status: null },
      { url: `http://127.0.0.1:${p}/`, outcome: "egress_denied" },
      { url: `http://[::ffff:7f00:1]:${p}/`, outcome: "egress_denied" },
      { url: "http://169.254.169.254/latest/meta-data/", outcome: "egress_denied" },
    ]);
  });

  it("keeps refusing an address the operator did not open when the app lists it in EGRESS_ALLOWED_HOSTS", async () => {
    const widening = await h.app("widening", { EGRESS_ALLOWED_HOSTS: ["127.0.0.1", `127.0.0.1:${home.port}`] });
    const run = await h.run(widening, FETCH_EACH, { urls: [`${home.origin}/`] });
    expect(run.result).toEqual([{ name: "TypeError", code: "egress_denied" }]);
    expect(home.connections()).toBe(0);
  });
});
