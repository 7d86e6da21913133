import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createExecutor, type Executor } from "./executor.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";
import type { Host, HostFetchRequest, HostFetchResponse, RunContext } from "./types.ts";

// A real HTTP server, and a Host whose fetch is a small real client
// (node's fetch): the contract the egress package implements, kept honest.
let server: Server;
let origin = "";
const closedEarly: string[] = [];

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/echo") {
      void readBody(req).then((body) => {
        res.setHeader("content-type", "application/json");
        res.setHeader("x-seen", "yes");
        res.end(JSON.stringify({ method: req.method, type: req.headers["content-type"] ?? null, auth: req.headers.authorization ?? null, body: body.toString("latin1"), query: url.search }));
      });
      return;
    }
    if (url.pathname === "/redirect") {
      res.writeHead(302, { location: "/final" }).end("moved");
      return;
    }
    if (url.pathname === "/final") {
      res.end("arrived");
      return;
    }
    if (url.pathname === "/slow") {
      req.on("close", () => {
        if (!res.writableEnded) closedEarly.push(url.search);
      });
      setTimeout(() => res.end("late"), 5_000).unref();
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

interface FetchingHost extends Host {
  calls: HostFetchRequest[];
  signals: AbortSignal[];
}

function fetchingHost(secrets: Record<string, Record<string, unknown>> = {}): FetchingHost {
  const base = memoryHost(secrets);
  const host: FetchingHost = {
    ...base,
    calls: [],
    signals: [],
    async fetch(_ctx: RunContext, request: HostFetchRequest, signal: AbortSignal): Promise<HostFetchResponse> {
      host.calls.push(request);
      host.signals.push(signal);
      if (new URL(request.url).hostname === "denied.test") {
        throw Object.assign(new Error("refused: denied.test resolves to 10.0.0.1, a private address"), { code: "egress_denied" });
      }
      try {
        const response = await fetch(request.url, {
          method: request.method,
          headers: request.headers,
          body: request.body,
          // "error" is enforced by the executor on the 3xx the host answers.
          redirect: request.redirect === "follow" ? "follow" : "manual",
          signal,
        });
        const body = new Uint8Array(await response.arrayBuffer());
        return { status: response.status, statusText: response.statusText, headers: [...response.headers], url: response.url, redirected: response.redirected, body };
      } catch (error) {
        if (signal.aborted) throw Object.assign(new Error("aborted"), { code: "egress_timeout" });
        throw Object.assign(new Error(`connect: ${String(error)}`), { code: "connect_failed" });
      }
    },
  };
  return host;
}

let host: FetchingHost;
let executor: Executor;
beforeAll(() => {
  host = fetchingHost({ app_fetch: { API_KEY: "sk_live_pathsecret" } });
  executor = createExecutor({ host, maxSubrequests: 5, fetchTimeoutMs: 1_000 });
});
afterAll(() => executor.dispose());

async function run(src: string, payload: unknown = {}) {
  return executor.run(requestFor(compileForTest(src, { appId: "app_fetch" }), { kind: "manual", payload: { origin, ...(payload as object) } }));
}

describe("fetch from a script", () => {
  test("a JSON POST round-trips through the host to a real server, with status, headers and url", async () => {
    const out = await run(`export default async (event) => {
      const res = await fetch(event.payload.origin + "/echo?x=1", { method: "post", headers: { "content-type": "application/json", authorization: "Bearer t" }, body: JSON.stringify({ hello: "wörld" }) });
      let immutable = null; try { res.headers.set("x", "y"); } catch (e) { immutable = e.name; }
      return { ok: res.ok, status: res.status, seen: res.headers.get("x-seen"), url: res.url, redirected: res.redirected, body: await res.json(), used: res.bodyUsed, immutable };
    };`);
    expect(out.error).toBeNull();
    expect(out.result).toEqual({
      ok: true,
      status: 200,
      seen: "yes",
      url: `${origin}/echo?x=1`,
      redirected: false,
      body: { method: "POST", type: "application/json", auth: "Bearer t", body: Buffer.from(JSON.stringify({ hello: "wörld" })).toString("latin1"), query: "?x=1" },
      used: true,
      immutable: "TypeError",
    });
    expect(out.subrequests).toEqual([{ method: "POST", url: `${origin}/echo`, status: 200, duration_ms: expect.any(Number), bytes: expect.any(Number), outcome: "ok" }]);
  });

  test("sends ArrayBuffer, typed array, URLSearchParams, FormData and Blob bodies with their content types", async () => {
    const out = await run(`export default async (event) => {
      const post = async (body) => (await (await fetch(event.payload.origin + "/echo", { method: "PUT", body })).json());
      const form = new FormData(); form.append("name", "value"); form.append("file", new Blob(["abc"], { type: "text/plain" }), "a.txt");
      return [
        await post(new Uint8Array([1, 2, 255]).buffer),
        await post(new Uint16Array([0x4142])),
        await post(new URLSearchParams({ a: "1 2", b: "é" })),
        await post(form),
        await post(new Blob(["blob!"], { type: "text/x-test" })),
      ];
    };`);
    expect(out.error).toBeNull();
    const [ab, typed, params, form, blob] = out.result as Array<{ type: string | null; body: string }>;
    expect(ab).toMatchObject({ type: null, body: "\u0001\u0002\u00ff" });
    expect(typed).toMatchObject({ body: "BA" });
    expect(params).toMatchObject({ type: "application/x-www-form-urlencoded;charset=UTF-8", body: "a=1+2&b=%C3%A9" });
    expect(form?.type).toMatch(/^multipart\/form-data; boundary=/);
    expect(form?.body).toContain('Content-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nabc');
    expect(blob).toMatchObject({ type: "text/x-test", body: "blob!" });
  });

  test("redirect modes: follow arrives, manual answers the 3xx, error rejects with a TypeError", async () => {
    const out = await run(`export default async (event) => {
      const url = event.payload.origin + "/redirect";
      const followed = await fetch(url);
      const manual = await fetch(url, { redirect: "manual" });
      let error = null; try { await fetch(url, { redirect: "error" }); } catch (e) { error = [e.name, e.code, e.message]; }
      return { followed: [followed.status, followed.redirected, followed.url, await followed.text()], manual: [manual.status, manual.headers.get("location"), manual.redirected], error };
    };`);
    expect(out.error).toBeNull();
    expect(out.result).toEqual({
      followed: [200, true, `${origin}/final`, "arrived"],
      manual: [302, "/final", false],
      error: ["TypeError", "redirect_error", 'fetch: the response was a redirect and the request\'s redirect mode is "error"'],
    });
  });

  test("abort rejects at once with the signal's reason and aborts the host's request", async () => {
    const out = await run(`export default async (event) => {
      const controller = new AbortController();
      const pending = fetch(event.payload.origin + "/slow?abort", { signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      const t0 = performance.now();
      try { await pending; return "answered"; } catch (e) { return [e.name, performance.now() - t0 < 1000]; }
    };`);
    expect(out.result).toEqual(["AbortError", true]);
    await expect.poll(() => closedEarly.includes("?abort")).toBe(true);
    expect(out.subrequests[0]?.outcome).toBe("aborted");
    expect(host.signals.at(-1)?.aborted).toBe(true);
  });

  test("a refused fetch rejects with a TypeError carrying the code and a fixed message, and fails the run with it", async () => {
    const out = await run(`export default async () => { await fetch("https://denied.test/x?token=1"); };`);
    expect(out.status).toBe("error");
    expect(out.error).toMatchObject({ name: "TypeError", code: "egress_denied", message: "fetch: the destination is not allowed by the egress policy", retry: { kind: "no_retry" } });
    expect(JSON.stringify(out)).not.toContain("10.0.0.1");
    expect(out.subrequests).toEqual([{ method: "GET", url: "https://denied.test/x", status: null, duration_ms: expect.any(Number), bytes: 0, outcome: "egress_denied" }]);
  });

  test("past the run's subrequest limit, fetch rejects with egress_limit without reaching the host", async () => {
    const before = host.calls.length;
    const out = await run(`export default async (event) => {
      const codes = [];
      for (let i = 0; i < 7; i++) { try { await fetch(event.payload.origin + "/final"); codes.push("ok"); } catch (e) { codes.push(e.code); } }
      return codes;
    };`);
    expect(out.result).toEqual(["ok", "ok", "ok", "ok", "ok", "egress_limit", "egress_limit"]);
    expect(host.calls.length - before).toBe(5);
    expect(out.subrequests.map((s) => s.outcome)).toEqual(["ok", "ok", "ok", "ok", "ok", "egress_limit"]);
  });

  test("a fetch slower than the timeout rejects with egress_timeout and its host request is aborted", async () => {
    const out = await run(`export default async (event) => { try { await fetch(event.payload.origin + "/slow?timeout"); } catch (e) { return [e.name, e.code]; } };`);
    expect(out.result).toEqual(["TypeError", "egress_timeout"]);
    expect(host.signals.at(-1)?.aborted).toBe(true);
    expect(out.subrequests[0]).toMatchObject({ outcome: "egress_timeout", status: null });
  });

  test("the run record masks a secret the script put in the URL path, and drops the query", async () => {
    const out = await run(`export default async (event) => {
      const key = await secrets.get("API_KEY");
      await (await fetch(event.payload.origin + "/echo/" + key + "?key=" + key)).text();
    };`);
    expect(out.subrequests).toEqual([{ method: "GET", url: `${origin}/echo/[secret:API_KEY]`, status: 404, duration_ms: expect.any(Number), bytes: 0, outcome: "ok" }]);
  });
});
