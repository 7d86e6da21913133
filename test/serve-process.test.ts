import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createPostgresDatabase, itPostgres, type PostgresDatabase } from "./support/databases.ts";
import { finished, listeningUrl, runCli, startCli, bootstrapToken } from "./support/cli.ts";

const key = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 29 + 3) & 255)).toString("base64");

describe("switchyard serve as a process", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it("stops cleanly on a SIGTERM that comes while it is still starting, and its data folder opens again", async () => {
    const dataDir = join(await mkdtemp(join(tmpdir(), "sy-serve-")), "data");
    const env = { SWITCHYARD_DATA_DIR: dataDir };
    const starting = startCli(["serve", "--dev", "--port", "0"], env);
    cleanups.push(async () => void starting.kill("SIGKILL"));
    // Logged just before the embedded database opens: the signal lands in the start, not after it.
    for (let i = 0; i < 1200 && !/using embedded PGlite/.test(starting.output.stdout + starting.output.stderr); i++) await new Promise((r) => setTimeout(r, 5));
    starting.kill("SIGTERM");
    const result = await finished(starting);
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null });
    const again = startCli(["serve", "--dev", "--port", "0"], env);
    cleanups.push(async () => void again.kill("SIGKILL"));
    const url = await listeningUrl(again);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    again.kill("SIGTERM");
    expect((await finished(again)).code).toBe(0);
  }, 120_000);

  it("starts on PGlite in dev mode, answers /readyz, prints the token once, and stops cleanly on SIGTERM", async () => {
    const dataDir = join(await mkdtemp(join(tmpdir(), "sy-serve-")), "data");
    const first = startCli(["serve", "--dev", "--port", "0"], { SWITCHYARD_DATA_DIR: dataDir });
    cleanups.push(async () => void first.kill("SIGKILL"));
    const url = await listeningUrl(first);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", database: "pglite" });
    const token = await bootstrapToken(first);
    expect(token).toBeDefined();
    const apps = await fetch(`${url}/api/v1/admin/apps`, { headers: { authorization: `Bearer ${token}` } });
    expect(apps.status).toBe(200);
    // A script run end to end through the outbox shows up in the queue metrics.
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const app = (await (await fetch(`${url}/api/v1/admin/apps`, { method: "POST", headers, body: JSON.stringify({ name: "metered" }) })).json()) as any;
    const script = (await (
      await fetch(`${url}/api/v1/admin/apps/${app.id}/scripts`, { method: "POST", headers, body: JSON.stringify({ name: "noop", source: "export default () => 1" }) })
    ).json()) as any;
    const invoked = (await (await fetch(`${url}/api/v1/admin/apps/${app.id}/scripts/${script.id}/invoke`, { method: "POST", headers, body: "{}" })).json()) as any;
    for (let i = 0; i < 200; i++) {
      const found = (await (await fetch(`${url}/api/v1/admin/apps/${app.id}/runs?event_id=${invoked.event_id}`, { headers })).json()) as any;
      if (found.runs.length > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain("switchyard_http_requests_total");
    expect(metrics).toMatch(/switchyard_run_completions_total\{status="ok",result="done"\} 1/);
    expect(metrics).toMatch(/switchyard_outbox_depth 0/);
    expect(metrics).toMatch(/switchyard_claim_batch_size_count 1/);
    first.kill("SIGTERM");
    const exit = await finished(first);
    expect(exit.code).toBe(0);

    // Second start: same data folder and generated key, token not printed again, still valid.
    const second = startCli(["serve", "--dev", "--port", "0"], { SWITCHYARD_DATA_DIR: dataDir });
    cleanups.push(async () => void second.kill("SIGKILL"));
    const url2 = await listeningUrl(second);
    const again = await fetch(`${url2}/api/v1/admin/apps`, { headers: { authorization: `Bearer ${token}` } });
    expect(again.status).toBe(200);
    second.kill("SIGTERM");
    expect((await finished(second)).code).toBe(0);
    // Read once the process has exited: everything it printed has arrived.
    expect(second.output.stdout).not.toContain("SWITCHYARD_TOKEN=");
  }, 90_000);

  it("refuses --role api on PGlite", async () => {
    const result = await runCli(["serve", "--role", "api"], { SWITCHYARD_MASTER_KEY: key });
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/--role api needs DATABASE_URL/);
  });

  let pg: PostgresDatabase | undefined;
  itPostgres("two processes migrating one empty PostgreSQL at once both come up", async () => {
    pg = await createPostgresDatabase({ migrated: false });
    cleanups.push(() => pg!.drop());
    const env = { DATABASE_URL: pg.url, SWITCHYARD_MASTER_KEY: key };
    // Two bare `migrate` runs racing, then two servers racing on the result.
    const [m1, m2] = await Promise.all([runCli(["migrate"], env), runCli(["migrate"], env)]);
    expect([m1.code, m2.code]).toEqual([0, 0]);
    expect(`${m1.stdout}${m2.stdout}`).toMatch(/applied 0000_foundation/);
    expect(`${m1.stdout}${m2.stdout}`).toMatch(/up to date/);

    const fresh = await createPostgresDatabase({ migrated: false });
    cleanups.push(() => fresh.drop());
    const env2 = { DATABASE_URL: fresh.url, SWITCHYARD_MASTER_KEY: key, SWITCHYARD_LOG_LEVEL: "info" };
    const a = startCli(["serve", "--role", "api", "--port", "0"], env2);
    const b = startCli(["serve", "--role", "all", "--port", "0"], env2);
    // Not left running if an assertion below fails (a no-op once they exited).
    cleanups.unshift(async () => void [a, b].forEach((child) => child.kill("SIGKILL")));
    const [urlA, urlB] = await Promise.all([listeningUrl(a), listeningUrl(b)]);
    for (const url of [urlA, urlB]) expect((await fetch(`${url}/readyz`)).status).toBe(200);
    a.kill("SIGTERM");
    b.kill("SIGTERM");
    expect((await finished(a)).code).toBe(0);
    expect((await finished(b)).code).toBe(0);
    // Exactly one of them issued the bootstrap token (read once both exited: all their output has arrived).
    const printed = [a, b].filter((p) => p.output.stdout.includes("SWITCHYARD_TOKEN=")).length;
    expect(printed).toBe(1);
  }, 90_000);
});
