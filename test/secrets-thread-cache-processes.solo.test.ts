import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, vi } from "vitest";
import { parseKeyring } from "@switchyard/crypto";
import { runs } from "@switchyard/db";
import { finished, listeningUrl, startCli } from "./support/cli.ts";
import { createPostgresDatabase, itPostgres, postgresAvailable, type PostgresDatabase } from "./support/databases.ts";
import { client, managerFor } from "./support/manager.ts";
import { waitFor } from "./support/wait.ts";

// Issue #17: a run's repeated secrets.get is answered on its executor
// thread; a value another server process writes mid-run reaches it through
// PostgreSQL's NOTIFY, which drops the main thread's vault cache and the
// threads' answers together. Timing-sensitive (the 100 ms bound of
// secrets-processes.solo.test.ts): runs in the solo phase.
describe.runIf(postgresAvailable())("secrets on executor threads, changed by another process", () => {
  const key = randomBytes(32).toString("base64");
  let pg: PostgresDatabase;
  let built: Awaited<ReturnType<typeof managerFor>> | undefined;
  const children: ReturnType<typeof startCli>[] = [];
  beforeAll(async () => {
    pg = await createPostgresDatabase();
  });
  afterAll(async () => {
    for (const child of children) child.kill("SIGTERM");
    for (const child of children) await finished(child);
    await built?.services.stop();
    await pg?.drop();
  });

  itPostgres("a value process B sets mid-run is seen by the run's next read in process A within 100 ms, the rest answered on A's thread", async () => {
    const parsed = parseKeyring({ masterKey: key });
    if (!parsed.ok) throw new Error(parsed.error.message);
    // Process A (this one) runs the script on its executor threads; B only serves the API.
    built = await managerFor(pg.database, { worker: true, keyring: parsed.value, settings: { executorThreads: 2 } });
    const token = built.adminToken!;
    const admin = client(built.app, token);
    const appId = (await admin.post("/api/v1/admin/apps", { name: "shared" })).json.id as string;
    const path = `/api/v1/admin/apps/${appId}/secrets`;
    expect((await admin.post(path, { name: "ROTATING", value: "rotating_v0" })).status).toBe(201);
    const b = startCli(["serve", "--role", "api", "--port", "0"], { DATABASE_URL: pg.url, SWITCHYARD_MASTER_KEY: key });
    children.push(b);
    const urlB = await listeningUrl(b);
    const setThroughB = async (value: string) => {
      const res = await fetch(`${urlB}${path}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ name: "ROTATING", value }) });
      expect(res.status).toBe(200);
    };
    // The reads that reach A's main thread.
    const resolved: string[] = [];
    const real = built.secrets.resolveSecret.bind(built.secrets);
    vi.spyOn(built.secrets, "resolveSecret").mockImplementation(async (app, name, actor) => {
      resolved.push(actor.id);
      return real(app, name, actor);
    });

    const deployed = await admin.post(`/api/v1/admin/apps/${appId}/scripts`, {
      name: "rotating",
      source: `export default async () => {
        const seen = [];
        let last = null;
        let reads = 0;
        const until = Date.now() + 20000;
        while (seen.length < 4 && Date.now() < until) {
          const value = await secrets.get("ROTATING");
          reads++;
          if (value !== last) {
            seen.push({ tail: value.slice(-2), at: Date.now() });
            last = value;
          }
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        return { seen, reads };
      }`,
    });
    expect(deployed.status).toBe(201);
    const invoked = await admin.post(`/api/v1/admin/apps/${appId}/scripts/${deployed.json.id}/invoke`, { payload: {} });
    expect(invoked.status).toBe(202);
    const runId = await waitFor(async () => resolved[0], 15_000, 5);
    const written: number[] = [];
    for (const value of ["rotating_v1", "rotating_v2", "rotating_v3"]) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      await setThroughB(value);
      written.push(Date.now());
    }
    const row = await waitFor(async () => {
      const [found] = await pg.database.db.select().from(runs).where(eq(runs.eventId, invoked.json.event_id));
      return found && found.status !== "running" && found;
    }, 30_000);
    expect(row.error).toBeNull();
    expect(row.id).toBe(runId);
    const result = row.result as { seen: Array<{ tail: string; at: number }>; reads: number };
    expect(result.seen.map((s) => s.tail)).toEqual(["v0", "v1", "v2", "v3"]);
    const lags = written.map((at, i) => result.seen[i + 1]!.at - at);
    expect(Math.max(...lags), JSON.stringify(lags)).toBeLessThan(100);
    // The first read, one after each change, one a second at most besides: the rest on the thread.
    expect(result.reads).toBeGreaterThan(50);
    expect(resolved.filter((id) => id === runId).length).toBeLessThanOrEqual(4 + 2);
  }, 90_000);
});
