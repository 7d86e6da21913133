import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { finished, listeningUrl, startCli, bootstrapToken } from "./support/cli.ts";
import { createPostgresDatabase, itPostgres, postgresAvailable, type PostgresDatabase } from "./support/databases.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.ts";
import { waitFor } from "./support/wait.ts";

// The Done-when for secret change events, with real processes: one
// API process and TWO worker processes (`serve --role worker`) on one
// PostgreSQL. Secret changes made through the API must fire the
// secret_changed trigger exactly once each, and reach an operator webhook
// (verified with the standardwebhooks library) exactly once each, whichever
// worker takes them. Several processes: runs in the solo phase.

const WATCH = `export default async (event) => {
  await new Promise((r) => setTimeout(r, 20));
  return event.secret_changed;
}`;

// Skipped only off CI without PostgreSQL (postgresAvailable() says why); under CI=true it answers true and a missing server fails.
describe.runIf(postgresAvailable())("secret change events across worker processes", () => {
  const key = randomBytes(32).toString("base64");
  let pg: PostgresDatabase;
  let receiver: WebhookReceiver;
  const children: ReturnType<typeof startCli>[] = [];

  beforeAll(async () => {
    pg = await createPostgresDatabase();
    receiver = await startWebhookReceiver();
  });
  afterAll(async () => {
    for (const child of children) child.kill("SIGTERM");
    for (const child of children) await finished(child).catch(() => undefined);
    await receiver?.close();
    await pg?.drop();
  });

  itPostgres(
    "two workers fire each change's trigger once and deliver each change to the webhook once",
    async () => {
      const env = { DATABASE_URL: pg.url, SWITCHYARD_MASTER_KEY: key, SWITCHYARD_EGRESS_ALLOW: `127.0.0.1:${receiver.port}` };
      const api = startCli(["serve", "--role", "api", "--port", "0"], env);
      children.push(api);
      const url = await listeningUrl(api);
      const workers = [startCli(["serve", "--role", "worker"], env), startCli(["serve", "--role", "worker"], env)];
      children.push(...workers);
      for (const w of workers) await waitFor(async () => w.output.stdout.includes("worker started") || (w.exitCode !== null && Promise.reject(new Error(w.output.stderr))), 60_000);
      const token = await bootstrapToken(api);
      const call = async (method: string, path: string, body?: unknown, contentType = "application/json") => {
        const res = await fetch(`${url}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, "content-type": contentType },
          ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
        });
        return { status: res.status, json: (await res.json().catch(() => null)) as any };
      };

      const appId = (await call("POST", "/api/v1/admin/apps", { name: "watched" })).json.id;
      const watch = (await call("POST", `/api/v1/admin/apps/${appId}/scripts`, { name: "watch", source: WATCH })).json.id;
      const trigger = await call("POST", `/api/v1/admin/apps/${appId}/triggers`, { kind: "secret_changed", name: "any", script_id: watch, config: {} });
      expect(trigger.status).toBe(201);
      const hook = await call("POST", "/api/v1/admin/webhooks", { url: receiver.url, events: ["secret.changed"] });
      expect(hook.status).toBe(201);
      receiver.state.secret = hook.json.secret;

      // 20 single changes in parallel, then one import of 30 names: 50 changes.
      const sets = await Promise.all(Array.from({ length: 20 }, (_, i) => call("POST", `/api/v1/admin/apps/${appId}/secrets`, { name: `KEY_${i}`, value: `value-${i}` })));
      expect(sets.every((s) => s.status === 201)).toBe(true);
      const dotenv = Array.from({ length: 30 }, (_, i) => `IMPORTED_${i}=v${i}`).join("\n");
      expect((await call("POST", `/api/v1/admin/apps/${appId}/secret-imports`, dotenv, "text/plain")).status).toBe(200);
      const expected = [...Array.from({ length: 20 }, (_, i) => `KEY_${i}`), ...Array.from({ length: 30 }, (_, i) => `IMPORTED_${i}`)].sort();

      const runsOf = async () => ((await call("GET", `/api/v1/admin/apps/${appId}/runs?trigger_id=${trigger.json.id}&limit=200`)).json.runs as any[]).filter((r) => r.status !== "running");
      await waitFor(async () => (await runsOf()).length >= 50 && receiver.received.filter((r) => r.answered === 200).length >= 50, 60_000, 100);
      // Late duplicates would show within a poll or two: give them time.
      await new Promise((r) => setTimeout(r, 2_000));

      const runs = await runsOf();
      expect(runs).toHaveLength(50);
      expect(runs.every((r) => r.status === "ok" && r.attempt === 1)).toBe(true);
      expect(new Set(runs.map((r) => r.event_id)).size).toBe(50);
      const results = await Promise.all(runs.map(async (r) => (await call("GET", `/api/v1/admin/apps/${appId}/runs/${r.id}`)).json.result as { name: string; action: string }));
      expect(results.map((r) => r.name).sort()).toEqual(expected);
      expect(results.every((r) => r.action === "created")).toBe(true);

      expect(receiver.received.every((r) => r.verified && r.answered === 200)).toBe(true);
      expect(receiver.received).toHaveLength(50);
      expect(new Set(receiver.received.map((r) => r.id)).size).toBe(50);
      expect(receiver.received.map((r) => JSON.parse(r.body).data.name).sort()).toEqual(expected);
    },
    120_000,
  );
});
