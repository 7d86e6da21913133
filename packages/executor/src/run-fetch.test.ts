import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createExecutor, type Executor } from "./executor.ts";
import { compileForTest, memoryHost, requestFor } from "./test-helpers.ts";
import type { Host, HostFetchRequest } from "./types.ts";

// What the host side of a script's fetch refuses or records, whatever the
// script did to its own context's runtime first. A real server answers;
// the Host's fetch is node's, recording what reached it.

let server: Server;
let origin = "";
const reached: HostFetchRequest[] = [];
let executor: Executor;

beforeAll(async () => {
  server = createServer((req, res) => res.end(`seen ${req.url ?? ""}`));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const host: Host = {
    ...memoryHost({ app_run_fetch: { TOKEN: "tok/with space&more", TENANT: "TenantSecret42" } }),
    async fetch(_ctx, request, signal) {
      reached.push(request);
      if (new URL(request.url).hostname.endsWith(".invalid")) throw Object.assign(new Error("no such host"), { code: "dns_failed" });
      const response = await fetch(request.url, { method: request.method, headers: request.headers, signal, redirect: "manual" });
      return { status: response.status, statusText: response.statusText, headers: [...response.headers], url: response.url, redirected: false, body: new Uint8Array(await response.arrayBuffer()) };
    },
  };
  executor = createExecutor({ host });
});
afterAll(async () => {
  executor.dispose();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function run(src: string) {
  return executor.run(requestFor(compileForTest(src, { appId: "app_run_fetch" }), { kind: "manual", payload: { origin } }));
}

describe("a fetch URL with credentials", () => {
  test("new Request and fetch throw the Fetch standard's TypeError, and nothing reaches the host", async () => {
    const before = reached.length;
    const out = await run(`export default async (event) => {
      const url = event.payload.origin.replace("http://", "http://user:pa55word@") + "/x";
      const caught = (f) => { try { f(); return "no error"; } catch (e) { return [e.name, e.message]; } };
      let fetched; try { await fetch(url); fetched = "fetched"; } catch (e) { fetched = [e.name, e.message]; }
      let userOnly; try { await fetch(new URL(event.payload.origin.replace("http://", "http://user@"))); userOnly = "fetched"; } catch (e) { userOnly = e.name; }
      return { request: caught(() => new Request(url)), fetched, userOnly };
    };`);
    const refusal = ["TypeError", "Request cannot be constructed from a URL that includes credentials; send them in an Authorization header"];
    expect(out.result).toEqual({ request: refusal, fetched: refusal, userOnly: "TypeError" });
    expect(reached.length).toBe(before);
    expect(JSON.stringify(out)).not.toContain("pa55word");
  });

  test("is refused by the host too when the script has blinded the runtime's check", async () => {
    const before = reached.length;
    const out = await run(`export default async (event) => {
      for (const name of ["username", "password"]) Object.defineProperty(URL.prototype, name, { get: () => "", configurable: true });
      try { await fetch(event.payload.origin.replace("http://", "http://user:pa55word@") + "/x"); return "fetched"; } catch (e) { return [e.name, e.code, e.message]; }
    };`);
    expect(out.result).toEqual(["TypeError", "invalid_argument", "fetch: a URL that includes credentials is not allowed; send them in an Authorization header"]);
    expect(reached.length).toBe(before);
  });
});

describe("the run record's subrequest URLs", () => {
  test("mask a secret in the path however it was encoded, whole segment, and in a host of any case", async () => {
    const out = await run(`export default async (event) => {
      const token = await secrets.get("TOKEN");
      const tenant = await secrets.get("TENANT");
      const once = encodeURIComponent(token);
      const paths = [
        "/raw/" + token,
        "/once/" + once,
        "/lower/" + once.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
        "/twice/id-" + encodeURIComponent(once) + ".json",
        "/malformed/%FF%E0%A4%/%zz/" + once,
      ];
      for (const path of paths) await (await fetch(event.payload.origin + path + "?t=" + once)).text();
      try { await fetch("https://" + tenant + ".invalid/x"); } catch {}
    };`);
    expect(out.error).toBeNull();
    expect(out.subrequests.map((s) => s.url)).toEqual([
      `${origin}/raw/[secret:TOKEN]/[secret:TOKEN]`,
      `${origin}/once/[secret:TOKEN]`,
      `${origin}/lower/[secret:TOKEN]`,
      `${origin}/twice/[secret:TOKEN]`,
      `${origin}/malformed/%FF%E0%A4%/%zz/[secret:TOKEN]`,
      "https://[secret:TENANT].invalid/x",
    ]);
  });
});
