import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import { signWebhook, type Keyring } from "@switchyard/crypto";
import type { Database } from "@switchyard/db";
import { client, managerFor } from "./manager.ts";

export const json = { "content-type": "application/json" };

/** Standard Webhooks headers for `body`, under `secret`, with a given or fresh webhook-id. */
export function signed(secret: string, body: string, id = `msg_${randomBytes(8).toString("hex")}`) {
  const timestamp = Math.floor(Date.now() / 1000);
  return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": signWebhook(secret, id, timestamp, body) };
}

/** Every byte value, so a bytea column's round trip is shown whole. */
export const EVERY_BYTE = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

export interface Seeded {
  adminToken: string;
  billingId: string;
  hookId: string;
  hookSecret: string;
  /** A webhook-id the hook accepted before the backup: a replay must stay refused after a restore. */
  usedWebhookId: string;
  /** Expected current values: [target path, name, value]. */
  values: [string, string, unknown][];
}

/**
 * A database holding a little of everything a backup carries, written through
 * the admin API where it can be (secrets in every scope with versions,
 * scripts, signed and cron triggers, a token, an event in
 * the outbox), and by SQL the rows the API only makes by running things
 * (runs, dead letters, mail, connectivity), with values that test a round
 * trip: JSON null apart from SQL NULL, every byte value, microseconds,
 * quotes, newlines and non-ASCII text.
 */
export async function seedForBackup(database: Database, keyring: Keyring): Promise<Seeded> {
  const built = await managerFor(database, { keyring });
  try {
    const admin = client(built.app, built.adminToken!);
    const ok = async (res: Promise<{ status: number; json: Record<string, any> }>) => {
      const answer = await res;
      if (answer.status >= 300) throw new Error(`seed step answered ${answer.status}: ${JSON.stringify(answer.json)}`);
      return answer.json;
    };
    const workspace = await ok(admin.post("/api/v1/admin/workspaces", { name: "ops" }));
    const billingId = (await ok(admin.post("/api/v1/admin/apps", { name: "billing", workspace_id: workspace.id }))).id as string;
    await ok(admin.post("/api/v1/admin/apps", { name: "web" }));
    const values: Seeded["values"] = [];
    const set = async (path: string, name: string, value: unknown, extra: Record<string, unknown> = {}) => {
      await ok(admin.post(`${path}/secrets`, { name, value, ...extra }));
      values.push([path, name, value]);
    };
    const app = `/api/v1/admin/apps/${billingId}`;
    await set("/api/v1/admin/global", "GLOBAL_KEY", "first");
    await set("/api/v1/admin/global", "GLOBAL_KEY", "second, with a ' quote and a \" quote");
    await set(`/api/v1/admin/workspaces/${workspace.id}`, "SHARED", { nested: [1, null, "ü"], empty: {} });
    await set(app, "API_KEY", "sk_live_1");
    await set(app, "API_KEY", "sk_live_2\nwith a newline and 日本語");
    await set(app, "FALSY", false);
    values.splice(0, values.length, ...latestOnly(values));
    await ok(admin.post("/api/v1/admin/tokens", { name: "ci", scopes: ["scripts:read"] }));
    const script = await ok(admin.post(`${app}/scripts`, { name: "echo", source: "export default (event: unknown) => ({ event })", language: "ts" }));
    const hook = await ok(admin.post(`${app}/triggers`, { kind: "http", name: "hook", script_id: script.id, config: { signing: true } }));
    const cron = await ok(admin.post(`${app}/triggers`, { kind: "cron", name: "tick", script_id: script.id, config: { schedule: "*/5 * * * *" } }));
    const body = JSON.stringify({ n: 1 });
    const usedWebhookId = `msg_${randomBytes(8).toString("hex")}`;
    const accepted = await built.app.request(hook.url.startsWith("http") ? new URL(hook.url).pathname : hook.url, {
      method: "POST",
      body,
      headers: { ...json, ...signed(hook.signing_secret, body, usedWebhookId) },
    });
    if (accepted.status !== 202) throw new Error(`the signed hook answered ${accepted.status}`);

    const db = database.db;
    await db.execute(sql`insert into meta (key, value) values ('a_json_null', 'null'::jsonb)`);
    await db.execute(sql`update cron_state set last_tick = '2026-01-02 03:04:05.123456+00' where trigger_id = ${cron.id}`);
    await db.execute(sql`
      insert into runs (id, app_id, script_id, script_version, trigger_id, event_id, event_kind, attempt, status, started_at, finished_at, duration_ms, logs, result, error)
      values ('run_a', ${billingId}, ${script.id}, 1, null, 'evt_a', 'manual', 1, 'ok', '2026-01-02 03:04:05.000001+00', '2026-01-02 03:04:05.999999+00', 999,
        '[{"level":"log","message":"tab\\there"}]'::jsonb, 'null'::jsonb, null)`);
    await db.execute(sql`
      insert into dead_letters (id, app_id, event_id, script_id, trigger_id, kind, event, retry, attempts, last_error, depth)
      values ('dl_a', ${billingId}, 'evt_b', ${script.id}, null, 'manual', '{"kind":"manual","payload":{"a":[1,2]}}'::jsonb,
        '{"max_attempts":3,"backoff":"fixed","base_ms":10}'::jsonb, 3, '{"code":"boom"}'::jsonb, 0)`);
    await db.execute(sql`
      insert into inbound_emails (id, app_id, trigger_id, provider, content_type, raw, size)
      values ('raw_a', ${billingId}, ${hook.id}, 'mime', 'message/rfc822', ${EVERY_BYTE}, 256)`);
    await db.execute(sql`
      insert into email_messages (id, app_id, status, from_address, "to", cc, bcc, subject, accepted, rejected, error, size, body)
      values ('em_a', ${billingId}, 'captured', 'a@example.com', '["b@example.com"]', '[]', '[]', 'Grüße', '["b@example.com"]', '[]', null, 10,
        '{"text":"hi","html":null}'::jsonb)`);
    await db.execute(sql`
      insert into connectivity_status (app_id, host, status, since, last_error, changes, checked_at)
      values (${billingId}, 'api.example.com', 'degraded', now(), 'timeout', 2, now())`);
    await db.execute(sql`
      insert into connectivity_minutes (app_id, host, worker_id, minute, requests, errors, errors_by_code, latency_histogram, last_attempt_at, recent)
      values (${billingId}, 'api.example.com', 'w1', date_trunc('minute', now()), 3, 1, '{"egress_timeout":1}', '[1,2,0]', now(), '[[1,1],[2,0]]')`);
    return { adminToken: built.adminToken!, billingId, hookId: hook.id, hookSecret: hook.signing_secret, usedWebhookId, values };
  } finally {
    await built.services.stop();
  }
}

function latestOnly(values: Seeded["values"]): Seeded["values"] {
  const byKey = new Map<string, Seeded["values"][number]>();
  for (const entry of values) byKey.set(`${entry[0]}|${entry[1]}`, entry);
  return [...byKey.values()];
}
