/**
 * The fairness scenario of issue #18, on one `switchyard serve` process at
 * its defaults: a heavy tenant keeps more long runs queued than the worker
 * has slots, while a light tenant invokes a trivial script at a steady pace.
 * Everything goes through the public API (invoke, runs list), so the same
 * code drives a process on PostgreSQL and one on its embedded PGlite, which
 * no other process can open.
 */
import { sleep } from "../dispatcher/db-stats.ts";
import { withSql } from "./drain.ts";
import type { ServeProcess } from "./serve.ts";

export interface FairnessPlan {
  /** The measured window, ms. */
  windowMs: number;
  /** How long each heavy run waits on an awaited timer, ms. */
  heavyRunMs: number;
  /** Heavy events kept enqueued and not yet finished: the worker's slots plus a backlog. */
  heavyOutstanding: number;
  /** One light invoke every this many ms. */
  lightEveryMs: number;
}

export interface FairnessResult {
  /**
   * Light runs: invoke sent → run started, and invoke answered → run started,
   * ms. The event's run_at lies between the two, so they bound the delay
   * from run_at on either side where it cannot be read (PGlite).
   */
  lightFromSentMs: number[];
  lightFromAnsweredMs: number[];
  /** Light runs: the event's run_at → run started, ms; only where the bench can read the outbox (PostgreSQL). */
  lightFromRunAtMs: number[] | null;
  /** Heavy runs that finished inside the window, and those that started in it. */
  heavyFinished: number;
  heavyStarted: number;
  windowSeconds: number;
}

interface RunRow {
  id: string;
  event_id: string;
  status: string;
  started_at: string;
  finished_at: string | null;
}

const HEAVY_POLL_MS = 250;

/**
 * Runs the scenario on `server` (a fresh database; `databaseUrl` when the
 * bench may read it too) and answers the light runs' start delays and the
 * heavy tenant's progress over the window.
 */
export async function fairness(server: ServeProcess, plan: FairnessPlan, databaseUrl: string | null): Promise<FairnessResult> {
  const heavy = await tenant(server, "bench-heavy", `export default async () => { await new Promise((resolve) => setTimeout(resolve, ${plan.heavyRunMs})); return null; }`);
  const light = await tenant(server, "bench-light", "export default () => null");
  if (databaseUrl) await recordRunAt(databaseUrl);
  // Not counted: the light app's isolate, context and compiled code are made, and the HTTP connection opened.
  const warm = await invoke(server, light);
  await runsOf(server, light.appId, new Set([warm]), 30_000);

  const heavyEvents = new Set<string>();
  const heavyDone = new Set<string>();
  let feeding = true;
  const feeder = (async () => {
    while (feeding) {
      for (const run of await newestRuns(server, heavy.appId)) if (run.status !== "running") heavyDone.add(run.event_id);
      while (feeding && heavyEvents.size - heavyDone.size < plan.heavyOutstanding) heavyEvents.add(await invoke(server, heavy));
      await sleep(HEAVY_POLL_MS);
    }
  })();
  try {
    // The heavy backlog is claimed and its first runs hold the slots before the window opens.
    await sleep(1_000);
    const sent = new Map<string, { sent: number; answered: number }>();
    const windowStart = Date.now();
    const until = windowStart + plan.windowMs;
    for (let next = windowStart; Date.now() < until; next += plan.lightEveryMs) {
      const wait = next - Date.now();
      if (wait > 0) await sleep(wait);
      const at = Date.now();
      const event = await invoke(server, light);
      sent.set(event, { sent: at, answered: Date.now() });
    }
    const windowEnd = Date.now();
    feeding = false;
    await feeder;
    // Light runs may still wait behind the heavy backlog: at most every outstanding heavy run's length, and then some.
    const lightRuns = await runsOf(server, light.appId, new Set(sent.keys()), 60_000 + 2 * plan.heavyOutstanding * plan.heavyRunMs);
    const heavyRuns = await allRuns(server, heavy.appId);
    const inWindow = (iso: string | null) => iso !== null && Date.parse(iso) >= windowStart && Date.parse(iso) <= windowEnd;
    const runAt = databaseUrl ? await readRunAt(databaseUrl, [...sent.keys()]) : null;
    return {
      lightFromSentMs: lightRuns.map((r) => Date.parse(r.started_at) - (sent.get(r.event_id)?.sent as number)),
      lightFromAnsweredMs: lightRuns.map((r) => Date.parse(r.started_at) - (sent.get(r.event_id)?.answered as number)),
      lightFromRunAtMs: runAt ? lightRuns.map((r) => Date.parse(r.started_at) - (runAt.get(r.event_id) as number)) : null,
      heavyFinished: heavyRuns.filter((r) => inWindow(r.finished_at)).length,
      heavyStarted: heavyRuns.filter((r) => inWindow(r.started_at)).length,
      windowSeconds: (windowEnd - windowStart) / 1000,
    };
  } finally {
    feeding = false;
    await feeder.catch(() => {});
  }
}

interface Tenant {
  appId: string;
  scriptId: string;
}

async function tenant(server: ServeProcess, name: string, source: string): Promise<Tenant> {
  const app = await server.api<{ id: string }>("POST", "/api/v1/admin/apps", { name }, 201);
  const script = await server.api<{ id: string }>("POST", `/api/v1/admin/apps/${app.id}/scripts`, { name: "main", source }, 201);
  return { appId: app.id, scriptId: script.id };
}

async function invoke(server: ServeProcess, t: Tenant): Promise<string> {
  const { event_id } = await server.api<{ event_id: string }>("POST", `/api/v1/admin/apps/${t.appId}/scripts/${t.scriptId}/invoke`, {}, 202);
  return event_id;
}

function newestRuns(server: ServeProcess, appId: string, before?: string): Promise<RunRow[]> {
  const cursor = before ? `&before=${encodeURIComponent(before)}` : "";
  return server.api<{ runs: RunRow[] }>("GET", `/api/v1/admin/apps/${appId}/runs?limit=200${cursor}`, undefined, 200).then((r) => r.runs);
}

/** Every run of the app, newest first, page by page. */
async function allRuns(server: ServeProcess, appId: string): Promise<RunRow[]> {
  const all: RunRow[] = [];
  for (let page = await newestRuns(server, appId); page.length > 0; page = await newestRuns(server, appId, all[all.length - 1]?.id)) all.push(...page);
  return all;
}

/** Waits until every event in `events` has a finished run, then answers those runs; throws past `timeoutMs` or for a run not ok. */
async function runsOf(server: ServeProcess, appId: string, events: Set<string>, timeoutMs: number): Promise<RunRow[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const runs = (await allRuns(server, appId)).filter((r) => events.has(r.event_id) && r.status !== "running");
    const bad = runs.find((r) => r.status !== "ok");
    if (bad) throw new Error(`bench: a run of ${appId} ended ${bad.status}`);
    if (runs.length >= events.size) return runs;
    if (Date.now() > deadline) throw new Error(`bench: ${runs.length} of ${events.size} runs of ${appId} ran within ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** A trigger keeps each event's run_at as it is enqueued (the row leaves the outbox when it is done). */
async function recordRunAt(url: string): Promise<void> {
  await withSql(url, async (sql) => {
    await sql`create table bench_enqueued (event_id text primary key, run_at timestamptz not null)`;
    await sql.unsafe(`
      create function bench_record_enqueue() returns trigger language plpgsql as $$
      begin
        insert into bench_enqueued values (new.id, new.run_at) on conflict do nothing;
        return null;
      end $$`);
    await sql.unsafe("create trigger bench_record_enqueue after insert on outbox for each row execute function bench_record_enqueue()");
  });
}

async function readRunAt(url: string, events: string[]): Promise<Map<string, number>> {
  return withSql(url, async (sql) => {
    const rows = await sql<{ event_id: string; ms: number }[]>`
      select event_id, extract(epoch from run_at)::float8 * 1000 as ms from bench_enqueued where event_id = any(${events})`;
    return new Map(rows.map((r) => [r.event_id, Number(r.ms)]));
  });
}
