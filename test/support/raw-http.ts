import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { connect, type Socket } from "node:net";
import type { Hono } from "hono";
import { Registry } from "prom-client";
import { silentLogger } from "@switchyard/core";
import { createManagerApp } from "@switchyard/manager";
import type { DriverContext } from "./databases.ts";
import type { managerFor } from "./manager.ts";

type Serve = (options: { fetch: Hono["fetch"]; hostname: string; port: number }, listening: (info: AddressInfo) => void) => Server;

/**
 * A hono app on a real port (127.0.0.1) under @hono/node-server, as
 * `switchyard serve` runs it; `close` stops it. The server is the manager's
 * own dependency (test/ does not list it), found from the manager package.
 */
export async function listen(app: Pick<Hono, "fetch">): Promise<{ port: number; close(): Promise<void> }> {
  const fromManager = createRequire(new URL("../../packages/manager/package.json", import.meta.url));
  const { serve } = (await import(fromManager.resolve("@hono/node-server"))) as { serve: Serve };
  let server: Server | undefined;
  const port = await new Promise<number>((resolve) => {
    server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info) => resolve(info.port));
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server!.closeAllConnections();
        server!.close(() => resolve());
      }),
  };
}

export interface RawAnswer {
  status: number;
  json: Record<string, any>;
  /** Milliseconds from the request head to the whole answer. */
  ms: number;
}

/**
 * A POST over a raw socket whose body the test writes when it likes (a
 * client trickling, or stalling). A raw socket, because the server may
 * answer and close mid-upload, which node:http's client does not expect.
 * `answer` settles with the first whole HTTP/1.1 answer, or rejects when the
 * connection closes without one.
 */
export function rawPost(port: number, path: string, head: { length?: number; headers?: Record<string, string> } = {}) {
  const socket: Socket = connect(port, "127.0.0.1");
  socket.on("error", () => undefined);
  const started = performance.now();
  const framing = head.length === undefined ? "Transfer-Encoding: chunked" : `Content-Length: ${head.length}`;
  const lines = [`POST ${path} HTTP/1.1`, "Host: 127.0.0.1", framing, ...Object.entries(head.headers ?? {}).map(([k, v]) => `${k}: ${v}`), "", ""];
  socket.write(lines.join("\r\n"));
  const answer = new Promise<RawAnswer>((resolve, reject) => {
    let received = Buffer.alloc(0);
    socket.on("data", (data: Buffer) => {
      received = Buffer.concat([received, data]);
      const parsed = parseAnswer(received);
      if (parsed) resolve({ ...parsed, ms: performance.now() - started });
    });
    socket.on("close", () => reject(new Error(`closed without a whole answer: ${received.toString("latin1").slice(0, 200)}`)));
  });
  // Nothing to do with an answer no one awaited (the test ended the socket first).
  answer.catch(() => undefined);
  const chunked = head.length === undefined;
  return {
    answer,
    /** Sends body bytes (framed as a chunk when the body is chunked). */
    write(bytes: Buffer | string): void {
      if (socket.destroyed) return;
      const data = Buffer.from(bytes);
      socket.write(chunked ? Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from("\r\n")]) : data);
    },
    /** Ends a chunked body. */
    end(): void {
      if (chunked && !socket.destroyed) socket.write("0\r\n\r\n");
    },
    destroy: () => socket.destroy(),
  };
}

/**
 * The manager app of `built` on a real port with a public body budget of
 * `budgetBytes` and a body-read deadline of `deadlineMs`: small enough for a
 * test to spend them.
 */
export function listenWithBodyLimits(database: DriverContext["database"], built: Awaited<ReturnType<typeof managerFor>>, budgetBytes: number, deadlineMs: number) {
  const { services } = built;
  return listen(
    createManagerApp({
      database,
      logger: silentLogger,
      metrics: new Registry(),
      secrets: services.secrets,
      scripts: services.scripts,
      invoker: services.invoker,
      inbound: built.inbound,
      inboundBudgetBytes: budgetBytes,
      bodyReadTimeoutMs: deadlineMs,
    }),
  );
}

/** Status and JSON of a whole HTTP/1.1 answer (Content-Length or chunked), or null while incomplete. */
export function parseAnswer(bytes: Buffer): Omit<RawAnswer, "ms"> | null {
  const text = bytes.toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const head = text.slice(0, end);
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  let body = text.slice(end + 4);
  const length = /\r\ncontent-length: (\d+)/i.exec(head)?.[1];
  if (length !== undefined) {
    if (body.length < Number(length)) return null;
    body = body.slice(0, Number(length));
  } else {
    if (!body.endsWith("0\r\n\r\n")) return null;
    let out = "";
    for (let at = 0; ; ) {
      const eol = body.indexOf("\r\n", at);
      const size = parseInt(body.slice(at, eol), 16);
      if (size === 0) break;
      out += body.slice(eol + 2, eol + 2 + size);
      at = eol + 2 + size + 2;
    }
    body = out;
  }
  return { status, json: (body ? JSON.parse(body) : null) as Record<string, any> };
}
