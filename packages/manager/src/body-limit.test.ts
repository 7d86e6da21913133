import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fastBodyLimit } from "./body-limit.ts";

const MAX = 1_000;

// Over real HTTP on @hono/node-server: the fast path depends on the
// Content-Length header Node's parser enforces, which app.request() lacks.
describe("fastBodyLimit", () => {
  let server: ServerType;
  let port = 0;
  let handlerRan = 0;

  beforeAll(async () => {
    const app = new Hono();
    app.post(
      "/",
      fastBodyLimit({ maxSize: MAX, onError: (c) => c.json({ error: "too_large" }, 413) }),
      async (c) => {
        handlerRan++;
        const body = Buffer.from(await c.req.arrayBuffer());
        return c.json({ bytes: body.length, first: body.subarray(0, 1).toString() });
      },
    );
    await new Promise<void>((resolve) => {
      server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info: AddressInfo) => {
        port = info.port;
        resolve();
      });
    });
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** POSTs `chunks`, with a Content-Length when `sized`, else chunked; answers status and JSON. */
  function post(chunks: Buffer[], sized: boolean): Promise<{ status: number; json: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const total = chunks.reduce((n, c) => n + c.length, 0);
      const req = request({ host: "127.0.0.1", port, method: "POST", path: "/", headers: sized ? { "content-length": String(total) } : { "transfer-encoding": "chunked" } }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
      });
      // The server may answer 413 and close before the whole body is written.
      req.on("error", reject);
      for (const chunk of chunks) req.write(chunk);
      req.end();
    });
  }

  it("reads a body within the cap, with or without Content-Length", async () => {
    expect(await post([Buffer.alloc(MAX, 97)], true)).toEqual({ status: 200, json: { bytes: MAX, first: "a" } });
    expect(await post([Buffer.alloc(600, 98), Buffer.alloc(400, 98)], false)).toEqual({ status: 200, json: { bytes: MAX, first: "b" } });
  });

  it("refuses a declared length over the cap before the handler runs", async () => {
    const before = handlerRan;
    expect(await post([Buffer.alloc(MAX + 1, 97)], true)).toEqual({ status: 413, json: { error: "too_large" } });
    expect(handlerRan).toBe(before);
  });

  it("refuses a chunked body once it passes the cap", async () => {
    const before = handlerRan;
    expect(await post([Buffer.alloc(600, 97), Buffer.alloc(401, 97)], false)).toEqual({ status: 413, json: { error: "too_large" } });
    expect(handlerRan).toBe(before);
  });
});
