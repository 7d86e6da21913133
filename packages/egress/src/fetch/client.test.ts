import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { createEgressPolicy } from "../policy.ts";
import { createFetchClient } from "./client.ts";
import { bodyOf, bytes, countClientConnections, getRequest, rejection, startServer, type TestServer, text } from "./test-servers.ts";

// The tests open loopback the way an operator would: SWITCHYARD_EGRESS_ALLOW=127.0.0.1.
const client = createFetchClient({ policy: createEgressPolicy({ allow: ["127.0.0.1"] }) });
const servers: TestServer[] = [];
afterAll(async () => {
  await client.close();
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(handler: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const server = await startServer(handler);
  servers.push(server);
  return server;
}



it("closes twice without an error, as a service stopped twice does", async () => {
  const own = createFetchClient({ policy: createEgressPolicy({ allow: ["127.0.0.1"] }) });
  await own.close();
  await own.close(); // undici alone throws ClientDestroyedError here
});

describe("fetch client against real local servers", () => {
  it("sends a JSON POST and answers the server's status, headers, JSON body and final URL", async () => {
    const server = await serve(async (req, res) => {
      const received = JSON.parse((await bodyOf(req)).toString("utf8")) as { n: number };
      res.writeHead(201, "Made", { "content-type": "application/json", "x-seen-method": req.method ?? "", "x-seen-type": req.headers["content-type"] ?? "" });
      res.end(JSON.stringify({ doubled: received.n * 2 }));
    });
    const response = await client.fetch({ method: "POST", url: `${server.origin}/items?x=1#frag`, headers: [["Content-Type", "application/json"]], body: bytes(JSON.stringify({ n: 21 })), redirect: "follow" });
    expect(response).toMatchObject({ status: 201, statusText: "Made", url: `${server.origin}/items?x=1`, redirected: false });
    expect(JSON.parse(text(response.body))).toEqual({ doubled: 42 });
    expect(response.headers).toEqual(expect.arrayContaining([["content-type", "application/json"], ["x-seen-method", "POST"], ["x-seen-type", "application/json"]]));
  });

  it("reuses one keep-alive connection for successive fetches to the same origin", async () => {
    const server = await serve((_req, res) => res.end("ok"));
    for (let i = 0; i < 20; i++) expect(text((await client.fetch(getRequest(server.origin))).body)).toBe("ok");
    // undici opens a second connection while the first still finishes its first response (bare fetch does the same).
    expect(server.connections()).toBeLessThanOrEqual(2);
  });

  it("writes Host and the framing headers itself, whatever the script put in them", async () => {
    let seen: Record<string, unknown> = {};
    const server = await serve(async (req, res) => {
      seen = { host: req.headers.host, length: req.headers["content-length"], te: req.headers["transfer-encoding"], body: (await bodyOf(req)).toString() };
      res.end();
    });
    const headers: Array<[string, string]> = [["Host", "metadata.internal"], ["Content-Length", "1"], ["Transfer-Encoding", "chunked"], ["Connection", "upgrade"]];
    await client.fetch({ method: "POST", url: server.origin, headers, body: bytes("hello"), redirect: "follow" });
    expect(seen).toEqual({ host: `127.0.0.1:${server.port}`, length: "5", te: undefined, body: "hello" });
  });

  it("decodes a gzip body as fetch does, and caps the decoded bytes, not the compressed ones", async () => {
    const small = gzipSync(Buffer.from("hello, gzip"));
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024));
    const server = await serve((req, res) => {
      res.writeHead(200, { "content-encoding": "gzip", "x-accept-encoding": req.headers["accept-encoding"] ?? "" });
      res.end(req.url === "/bomb" ? bomb : small);
    });
    const response = await client.fetch(getRequest(server.origin));
    expect(text(response.body)).toBe("hello, gzip");
    expect(response.headers).toContainEqual(["x-accept-encoding", "gzip, deflate, br"]);
    const capped = createFetchClient({ policy: createEgressPolicy({ allow: ["127.0.0.1"] }), maxResponseBytes: 1024 * 1024 });
    try {
      expect(bomb.byteLength).toBeLessThan(1024 * 1024);
      expect((await rejection(capped.fetch(getRequest(`${server.origin}/bomb`)))).code).toBe("egress_too_large");
    } finally {
      await capped.close();
    }
  });

  it("refuses a request body past the cap before opening anything", async () => {
    const small = createFetchClient({ policy: createEgressPolicy({ allow: ["127.0.0.1"] }), maxRequestBodyBytes: 1024 });
    const server = await serve((_req, res) => res.end());
    const sockets = countClientConnections();
    try {
      const error = await rejection(small.fetch({ method: "POST", url: server.origin, headers: [], body: new Uint8Array(1025), redirect: "follow" }));
      expect(error.code).toBe("egress_too_large");
      expect(sockets.count()).toBe(0);
    } finally {
      sockets.stop();
      await small.close();
    }
  });

  it("refuses a 50 MiB response at the 10 MiB cap while it streams, holding no more than the cap in memory", async () => {
    const chunk = Buffer.alloc(64 * 1024, 1);
    let written = 0;
    const server = await serve((_req, res) => {
      // Chunked (no Content-Length): the cap can only be found by counting.
      res.writeHead(200, { "content-type": "application/octet-stream" });
      const pump = () => {
        while (written < 50 * 1024 * 1024 && !res.destroyed) {
          written += chunk.byteLength;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
    });
    const baseline = process.memoryUsage().arrayBuffers;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 2);
    try {
      const error = await rejection(client.fetch(getRequest(server.origin)));
      expect(error.code).toBe("egress_too_large");
      expect(error.message).toBe(`fetch to ${server.origin} failed: the response body is larger than ${10 * 1024 * 1024} bytes`);
    } finally {
      clearInterval(sampler);
    }
    expect(peak - baseline).toBeLessThan(24 * 1024 * 1024);
    expect(written).toBeLessThan(30 * 1024 * 1024);
  });

  it("refuses a response whose Content-Length is past the cap without reading its body", async () => {
    let aborted = false;
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-length": String(50 * 1024 * 1024) });
      res.write(Buffer.alloc(1024));
      res.on("close", () => (aborted = !res.writableFinished));
    });
    expect((await rejection(client.fetch(getRequest(server.origin)))).code).toBe("egress_too_large");
    await expect.poll(() => aborted).toBe(true);
  });

  it("ends a fetch to a server that never answers at its timeout, as egress_timeout", async () => {
    const server = await serve(() => {});
    const started = Date.now();
    const error = await rejection(client.fetch(getRequest(server.origin), { timeoutMs: 300 }));
    expect(error.code).toBe("egress_timeout");
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("stops at once when the caller aborts, closing the request, with the code the signal's reason carries", async () => {
    let closed = 0;
    const server = await serve((req) => req.socket.on("close", () => closed++));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    expect((await rejection(client.fetch(getRequest(server.origin), { signal: controller.signal }))).code).toBe("aborted");
    await expect.poll(() => closed).toBe(1);

    // The executor aborts with the run's wall clock as egress_timeout; AbortSignal.timeout reads the same.
    const wallClock = new AbortController();
    wallClock.abort(Object.assign(new Error("run wall clock"), { code: "egress_timeout" }));
    expect((await rejection(client.fetch(getRequest(server.origin), { signal: wallClock.signal }))).code).toBe("egress_timeout");
    expect((await rejection(client.fetch(getRequest(server.origin), { signal: AbortSignal.timeout(50) }))).code).toBe("egress_timeout");
  });

  it("answers connect_failed, naming only the script's origin, when nothing listens", async () => {
    const server = await serve(() => {});
    await server.close();
    const error = await rejection(client.fetch(getRequest(`${server.origin}/path`)));
    expect(error.code).toBe("connect_failed");
    expect(error.message).toBe(`fetch to ${server.origin} failed: the connection could not be made or was lost`);
  });
});
