import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createEgressPolicy, createFetchClient, type FetchClient } from "@switchyard/egress";
import { compileScript, createExecutor, FETCH_ERRORS, type Executor, type Host } from "@switchyard/executor";

// A script's fetch meeting redirects, through the real egress client to a
// real node:http server: each failure reaches the script with its own code
// and the message that belongs to it (not the subrequest limit's).

let server: Server;
let origin = "";
let client: FetchClient;
let executor: Executor;

beforeAll(async () => {
  // /hop/N redirects to /hop/N-1; /hop/0 answers.
  server = createServer((req, res) => {
    const hops = Number(/^\/hop\/(\d+)$/.exec(req.url ?? "")?.[1] ?? 0);
    if (hops > 0) res.writeHead(302, { location: `/hop/${hops - 1}` }).end();
    else res.end("arrived");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = createFetchClient({ policy: createEgressPolicy({ allow: ["127.0.0.1"] }) });
  const host: Host = {
    getSecret: async () => null,
    listSecrets: async () => [],
    sendEmail: async () => ({}),
    fetch: (_ctx, request, signal) => client.fetch(request, { signal }),
  };
  executor = createExecutor({ host });
});
afterAll(async () => {
  await executor.dispose();
  await client.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function run(source: string) {
  const compiled = await compileScript({ source, language: "js" });
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.error));
  const script = { id: "s_redirects", appId: "app_redirects", version: 1, code: compiled.value.code, sourceMap: null, freshContext: false, limits: { memoryMb: 32, cpuMs: 2_000, wallMs: 10_000 } };
  return executor.run({ script, event: { kind: "manual", payload: { origin } }, ctx: { app: { id: "app_redirects", name: "redirects" }, trigger: null, run: { id: "run_redirects", attempt: 1, event_id: "evt_redirects" } } });
}

const TRY = `const attempt = async (url, init) => { try { const res = await fetch(url, init); return [res.status, await res.text()]; } catch (e) { return [e.name, e.code, e.message]; } };`;

describe("a script's fetch meeting redirects through the egress client", () => {
  test('redirect: "error" rejects with redirect_error, not the subrequest limit', async () => {
    const out = await run(`${TRY} export default async (event) => attempt(event.payload.origin + "/hop/1", { redirect: "error" });`);
    expect(out.result).toEqual(["TypeError", "redirect_error", FETCH_ERRORS.redirect_error?.message]);
    expect(out.subrequests).toEqual([expect.objectContaining({ url: `${origin}/hop/1`, outcome: "redirect_error" })]);
  });

  test("20 redirects arrive; 21 reject with egress_redirect_limit and a message about redirects", async () => {
    const out = await run(`${TRY} export default async (event) => [await attempt(event.payload.origin + "/hop/20"), await attempt(event.payload.origin + "/hop/21")];`);
    expect(out.result).toEqual([
      [200, "arrived"],
      ["TypeError", "egress_redirect_limit", "fetch: the response redirected more times than the platform follows"],
    ]);
    expect(out.subrequests.map((s) => s.outcome)).toEqual(["ok", "egress_redirect_limit"]);
  });
});
