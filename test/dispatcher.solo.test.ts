import { randomBytes } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { enqueue } from "@switchyard/core";
import { deadLetters, outbox, resultRows, runs } from "@switchyard/db";
import { finished, startCli } from "./support/cli.ts";
import { createPostgresDatabase, itPostgres, postgresAvailable, type PostgresDatabase } from "./support/databases.ts";
import { client, managerFor } from "./support/manager.ts";
import { waitFor } from "./support/wait.ts";

type Worker = ReturnType<typeof startCli>;

describe.runIf(postgresAvailable())("dispatcher under worker failures (PostgreSQL, real processes)", () => {
  const key = randomBytes(32).toString("base64");
  let pg: PostgresDatabase;
  let appId: string;
  const scripts: Record<string, string> = {};
  /** Tenants of the chaos drain, each with the `work` script: claims rotate over them and each worker prefers the apps it ran (affinity). */
  const tenants: { appId: string; scriptId: string }[] = [];
  const workers = new Set<Worker>();

  const spawnWorker = (leaseMs: number) => {
    const worker = startCli(["serve", "--role", "worker"], {
      DATABASE_URL: pg.url,
      SWITCHYARD_MASTER_KEY: key,
      SWITCHYARD_LEASE_MS: String(leaseMs),
      SWITCHYARD_DB_POOL: "4",
    });
    workers.add(worker);
    return worker;
  };
  const started = (worker: Worker) => waitFor(async () => /worker started/.test(worker.output.stdout), 30_000);
  const stopAll = async () => {
    for (const worker of workers) worker.kill("SIGKILL");
    for (const worker of workers) await finished(worker);
    workers.clear();
  };
  /** `n` events, spread round-robin over `targets`. */
  const enqueueMany = async (targets: { appId: string; scriptId: string }[], n: number) => {
    const ids: string[] = [];
    for (let from = 0; from < n; from += 250) {
      await pg.database.db.transaction(async (tx) => {
        for (let i = from; i < Math.min(n, from + 250); i++) {
          const target = targets[i % targets.length]!;
          ids.push(await enqueue(tx, { ...target, kind: "manual", event: { kind: "manual", payload: i }, origin: "chaos" }));
        }
      });
    }
    return ids;
  };

  beforeAll(async () => {
    pg = await createPostgresDatabase();
    const built = await managerFor(pg.database);
    const admin = client(built.app, built.adminToken!);
    appId = (await admin.post("/api/v1/admin/apps", { name: "chaos" })).json.id;
    const sources = {
      // A few ms of work, so that kills land on runs in flight.
      work: "export default (event) => { let x = 0; for (let i = 0; i < 300000; i++) x += i; return event.payload; }",
      slow: "export default () => { const end = Date.now() + 1500; while (Date.now() < end) {} return 'slow'; }",
    };
    for (const [name, source] of Object.entries(sources)) {
      scripts[name] = (await admin.post(`/api/v1/admin/apps/${appId}/scripts`, { name, source })).json.id;
    }
    for (let i = 0; i < 6; i++) {
      const tenant = (await admin.post("/api/v1/admin/apps", { name: `chaos-${i}` })).json.id;
      tenants.push({ appId: tenant, scriptId: (await admin.post(`/api/v1/admin/apps/${tenant}/scripts`, { name: "work", source: sources.work })).json.id });
    }
  }, 60_000);
  afterAll(async () => {
    await stopAll();
    await pg?.drop();
  });

  itPostgres(
    "1,000 events of 6 apps drained by 4 workers with affinity while one is SIGKILLed every 2 s for 30 s all reach a terminal state once",
    async () => {
      const live: Worker[] = [];
      for (let i = 0; i < 4; i++) live.push(spawnWorker(2000));
      await Promise.all(live.map(started));
      // Events keep arriving through the whole 30 s, so every kill lands on work in flight.
      const ids: string[] = await enqueueMany(tenants, 100);
      let kills = 0;
      const chaosStart = Date.now();
      const chaosUntil = chaosStart + 30_000;
      for (let k = 1; k <= 15; k++) {
        ids.push(...(await enqueueMany(tenants, 60)));
        await new Promise((r) => setTimeout(r, Math.max(0, chaosStart + 2000 * k - Date.now())));
        const victim = live.splice(Math.floor(Math.random() * live.length), 1)[0]!;
        victim.kill("SIGKILL");
        kills += 1;
        live.push(spawnWorker(2000));
      }
      ids.push(...(await enqueueMany(tenants, 1000 - ids.length)));
      expect(ids).toHaveLength(1000);
      await waitFor(async () => {
        const [row] = resultRows<{ n: number }>(await pg.database.db.execute(sql`select count(*)::int as n from outbox`));
        return row!.n === 0;
      }, 90_000, 250);
      const okRuns = await pg.database.db
        .select({ eventId: runs.eventId, attempt: runs.attempt, finishedAt: runs.finishedAt })
        .from(runs)
        .where(eq(runs.status, "ok"));
      // Work really flowed during the kills, not only after them.
      const duringChaos = okRuns.filter((r) => r.finishedAt!.getTime() > chaosStart && r.finishedAt!.getTime() < chaosUntil).length;
      expect(duringChaos).toBeGreaterThan(500);
      const dead = await pg.database.db.select({ eventId: deadLetters.eventId }).from(deadLetters);
      const terminal = new Map<string, number>();
      for (const r of [...okRuns, ...dead]) terminal.set(r.eventId, (terminal.get(r.eventId) ?? 0) + 1);
      // None lost, none recorded twice: fencing drops a late completion.
      expect(ids.filter((id) => terminal.get(id) !== 1)).toEqual([]);
      // Re-runs happen only to events in flight at a kill: at most concurrency (8) per kill.
      const rerun = okRuns.filter((r) => r.attempt > 1).length + dead.length;
      expect(kills).toBe(15);
      expect(rerun).toBeLessThanOrEqual(kills * 8);
      await stopAll();
    },
    180_000,
  );

  itPostgres(
    "a worker stopped past its lease and then resumed changes nothing",
    async () => {
      const a = spawnWorker(1000);
      await started(a);
      const [id] = await enqueueMany([{ appId, scriptId: scripts.slow! }], 1);
      await waitFor(async () => {
        const [row] = await pg.database.db.select().from(outbox).where(eq(outbox.id, id!));
        return row?.leaseToken ? row : null;
      });
      a.kill("SIGSTOP");
      await new Promise((r) => setTimeout(r, 1500));
      const b = spawnWorker(1000);
      await started(b);
      const [done] = await waitFor(async () => {
        const rows = await pg.database.db.select().from(runs).where(eq(runs.eventId, id!));
        return rows.length > 0 && rows;
      }, 30_000);
      expect(done).toMatchObject({ status: "ok", attempt: 2 });
      a.kill("SIGCONT");
      // A finishes its stale attempt now; its completion must be fenced off.
      await new Promise((r) => setTimeout(r, 3000));
      expect((await pg.database.db.select().from(runs).where(eq(runs.eventId, id!))).map((r) => r.attempt)).toEqual([2]);
      expect(await pg.database.db.select().from(outbox).where(eq(outbox.id, id!))).toEqual([]);
      expect(await pg.database.db.select().from(deadLetters).where(eq(deadLetters.eventId, id!))).toEqual([]);
      await stopAll();
    },
    90_000,
  );
});
