import type http from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import { createEgressPolicy } from "../policy.ts";
import { createFetchClient } from "./client.ts";
import { getRequest, rejection, startServer, text, type TestServer } from "./test-servers.ts";

const KiB = 1024;
// Each response may be 1 MiB, but the process holds at most 200 KiB of bodies at once.
const client = createFetchClient({ policy: createEgressPolicy({ allow: ["127.0.0.1"] }), maxResponseBytes: 1024 * KiB, maxBufferedBytes: 200 * KiB });

/** Responses the test ends by hand: each sent 80 KiB of its body and waits. */
const held: http.ServerResponse[] = [];
let server: TestServer;
afterAll(async () => {
  await client.close();
  await server.close();
});

async function start(): Promise<TestServer> {
  server = await startServer((req, res) => {
    if (req.url === "/hold") {
      // Chunked: no Content-Length, so the budget is only found by counting.
      res.writeHead(200);
      res.write(Buffer.alloc(80 * KiB, 1));
      held.push(res);
      return;
    }
    if (req.url === "/announced") return void res.writeHead(200, { "content-length": String(150 * KiB) }).end(Buffer.alloc(150 * KiB, 2));
    res.writeHead(200);
    res.write(Buffer.alloc(60 * KiB, 3));
    res.end();
  });
  return server;
}

describe("the process-wide budget of response bodies in flight", () => {
  it("refuses a body past the budget with egress_busy while others hold it, gives it back when they finish or fail, and serves the same fetch after", async () => {
    const { origin } = await start();
    const first = client.fetch(getRequest(`${origin}/hold`));
    await expect.poll(() => client.bufferedBytes()).toBe(80 * KiB);
    const second = client.fetch(getRequest(`${origin}/hold`));
    await expect.poll(() => client.bufferedBytes()).toBe(160 * KiB);

    // 60 KiB more would pass 200 KiB: the process is busy, the response is not too large.
    const busy = await rejection(client.fetch(getRequest(`${origin}/small`)));
    expect(busy.code).toBe("egress_busy");
    expect(busy.message).toBe(`fetch to ${origin} failed: response bodies in flight would pass this process's budget of ${200 * KiB} bytes; try again later`);
    // One that says its size up front is refused without holding any of it.
    expect((await rejection(client.fetch(getRequest(`${origin}/announced`)))).code).toBe("egress_busy");
    expect(client.bufferedBytes()).toBe(160 * KiB);

    // The first is handed over, the second fails mid-body: both give their bytes back.
    held[0]?.end(Buffer.alloc(10 * KiB, 1));
    expect((await first).body.byteLength).toBe(90 * KiB);
    held[1]?.destroy();
    expect((await rejection(second)).code).toBe("connect_failed");
    expect(client.bufferedBytes()).toBe(0);

    expect(text((await client.fetch(getRequest(`${origin}/small`))).body)).toBe("\u0003".repeat(60 * KiB));
    expect((await client.fetch(getRequest(`${origin}/announced`))).body.byteLength).toBe(150 * KiB);
    expect(client.bufferedBytes()).toBe(0);
  });
});
