/**
 * Inbound webhooks accepted per second: signed generic emails through our
 * whole route (Standard Webhooks check, normalization, dedupe, raw kept, the
 * event enqueued durably in one statement) against a bare hono route that
 * inserts the same body as one outbox row. Both on @hono/node-server, over
 * real HTTP with keep-alive, on one PostgreSQL pool.
 */
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { Hono } from "hono";
import { Registry } from "prom-client";
import { createApp, createTriggersService, newId, silentLogger, type Principal } from "@switchyard/core";
import { signWebhook } from "@switchyard/crypto";
import { outbox, type Database } from "@switchyard/db";
import { createManagerApp } from "@switchyard/manager";
import type { Services } from "@switchyard/server";

const ADMIN: Principal = { type: "system", id: "bench" };

export interface Endpoint {
  url: string;
  /** Request bodies and headers, made (and signed) before timing. */
  requests(n: number): { body: string; headers: Record<string, string> }[];
}

function listen(fetch: (request: Request) => Response | Promise<Response>): Promise<{ server: ServerType; base: string }> {
  return new Promise((resolve) => {
    const server = serve({ fetch, hostname: "127.0.0.1", port: 0 }, (info: AddressInfo) => resolve({ server, base: `http://127.0.0.1:${info.port}` }));
  });
}

const message = (i: number) =>
  JSON.stringify({ from: "Sender <sender@example.com>", to: ["inbox@example.com"], subject: `bench ${i}`, text: "a short message body, as most are", message_id: `<${randomBytes(9).toString("hex")}@bench.example>` });

export async function startWebhookEndpoints(database: Database, services: Services) {
  const app = await createApp(database.db, ADMIN, { name: `bench-${randomBytes(3).toString("hex")}` });
  const script = await services.scripts.deploy(ADMIN, app.id, { name: "noop", source: "export default () => null", language: "js" });
  const trigger = await createTriggersService({ db: database.db, sealer: services.secrets }).create(ADMIN, app.id, { kind: "email", name: "bench", scriptId: script.id, config: { provider: "generic", rate_limit_per_minute: 1_000_000 } });
  const secret = trigger.signingSecret as string;

  const ours = createManagerApp({ database, logger: silentLogger, metrics: new Registry(), secrets: services.secrets, scripts: services.scripts, invoker: services.invoker });
  const bare = new Hono();
  bare.post("/bare/:id", async (c) => {
    const body = JSON.parse(await c.req.text()) as unknown;
    const id = newId("evt");
    await database.db.insert(outbox).values({ id, appId: app.id, scriptId: script.id, triggerId: trigger.id, kind: "email", event: { kind: "email", email: body }, retry: trigger.retry, origin: "bench" });
    return c.json({ event_id: id }, 202);
  });
  const oursServer = await listen(ours.fetch);
  const bareServer = await listen(bare.fetch);

  const signed: Endpoint = {
    url: `${oursServer.base}/api/v1/email-inbound/${trigger.id}`,
    requests: (n) =>
      Array.from({ length: n }, (_, i) => {
        const body = message(i);
        const id = `msg_${randomBytes(8).toString("hex")}`;
        const ts = Math.floor(Date.now() / 1000);
        return { body, headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": signWebhook(secret, id, ts, body) } };
      }),
  };
  const plain: Endpoint = {
    url: `${bareServer.base}/bare/${trigger.id}`,
    requests: (n) => Array.from({ length: n }, (_, i) => ({ body: message(i), headers: { "content-type": "application/json" } })),
  };
  return {
    ours: signed,
    bare: plain,
    async close() {
      await Promise.all([oursServer, bareServer].map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))));
    },
  };
}

/** Sends `n` prepared requests with `concurrency` in flight; answers requests per second. Every answer must be 202. */
export async function drive(endpoint: Endpoint, n: number, concurrency: number): Promise<number> {
  const requests = endpoint.requests(n);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests.length) {
        const request = requests[next++] as { body: string; headers: Record<string, string> };
        const res = await fetch(endpoint.url, { method: "POST", body: request.body, headers: request.headers });
        if (res.status !== 202) throw new Error(`bench: ${endpoint.url} answered ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
      }
    }),
  );
  return (n / (performance.now() - started)) * 1000;
}
