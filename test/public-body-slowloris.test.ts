import { afterAll, beforeAll, expect, it } from "vitest";
import { describeEachDriver } from "./support/databases.ts";
import { client, managerFor } from "./support/manager.ts";
import { listenWithBodyLimits, type listen, rawPost } from "./support/raw-http.ts";

const KIB = 1024;
/** The process's budget of public bodies here: a 200 KiB body and a 100 KiB one do not fit at once. */
const BUDGET = 256 * KIB;
const DEADLINE_MS = 1_500;
const text = { "Content-Type": "text/plain" };

describeEachDriver("public bodies against slow clients, over real sockets", (ctx) => {
  let built: Awaited<ReturnType<typeof managerFor>>;
  let server: Awaited<ReturnType<typeof listen>>;
  let hook: string;

  beforeAll(async () => {
    built = await managerFor(ctx.database);
    const admin = client(built.app, built.adminToken!);
    const appId = (await admin.post("/api/v1/admin/apps", { name: "slow" })).json.id;
    const scriptId = (await admin.post(`/api/v1/admin/apps/${appId}/scripts`, { name: "noop", source: "export default () => 1" })).json.id;
    hook = (await admin.post(`/api/v1/admin/apps/${appId}/triggers`, { kind: "http", name: "open", script_id: scriptId, config: { max_body_bytes: 200 * KIB } })).json.url;
    server = await listenWithBodyLimits(ctx.database, built, BUDGET, DEADLINE_MS);
  });
  afterAll(async () => {
    await server?.close();
    await built?.services.stop();
  });

  /** A whole body of `bytes`, sent at once. */
  const prompt = async (bytes: number) => {
    const post = rawPost(server.port, hook, { length: bytes, headers: text });
    post.write(Buffer.alloc(bytes, 97));
    try {
      return await post.answer;
    } finally {
      post.destroy();
    }
  };

  it("lets others in while three clients declare 200 KiB each and trickle a byte at a time, then answers those 408 at the deadline", async () => {
    const slow = Array.from({ length: 3 }, () => rawPost(server.port, hook, { length: 200 * KIB, headers: text }));
    const trickle = setInterval(() => slow.forEach((s) => s.write("x")), 100);
    try {
      await new Promise((r) => setTimeout(r, 300));
      // Leased on the Content-Length's promise, the first slow client alone held 200 KiB and this was a 503.
      const meanwhile = await prompt(100 * KIB);
      expect([meanwhile.status, meanwhile.json]).toEqual([202, { event_id: expect.stringMatching(/^evt_/) }]);
      for (const answer of await Promise.all(slow.map((s) => s.answer))) {
        expect([answer.status, answer.json.error.code]).toEqual([408, "request_timeout"]);
        expect(answer.ms).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
        expect(answer.ms).toBeLessThan(DEADLINE_MS + 3_000);
      }
    } finally {
      clearInterval(trickle);
      slow.forEach((s) => s.destroy());
    }
  });

  it("still counts bytes that did arrive against the budget, and gives them back when a stalled body times out", async () => {
    const stalled = rawPost(server.port, hook, { length: 200 * KIB, headers: text });
    try {
      stalled.write(Buffer.alloc(190 * KIB, 98));
      await new Promise((r) => setTimeout(r, 300));
      const squeezed = await prompt(100 * KIB);
      expect([squeezed.status, squeezed.json.error.code]).toEqual([503, "overloaded"]);
      const timedOut = await stalled.answer;
      expect([timedOut.status, timedOut.json.error]).toEqual([
        408,
        { code: "request_timeout", message: `the request body did not arrive within ${DEADLINE_MS} ms`, details: { timeout_ms: DEADLINE_MS, received: 190 * KIB } },
      ]);
    } finally {
      stalled.destroy();
    }
    expect((await prompt(100 * KIB)).status).toBe(202);
  });
});
