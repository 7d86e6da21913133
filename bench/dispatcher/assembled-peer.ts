/**
 * The assembled peer (issue #17): what a platform team would build instead of
 * us. graphile-worker batched, whose task runs the same script in ONE reused
 * isolated-vm context: one isolate, one context, the handler's Reference
 * entered with `applySync` (the cheapest honest entry: no thread hand-off),
 * under the same memory limit and CPU timeout as our default limits, the
 * isolate's CPU time read around the call as ours does. With `history`, the
 * task also inserts a run row into `peer_runs`, a copy of our `runs` (columns,
 * types, defaults, indexes, and runs' foreign keys, which LIKE does not copy:
 * none since migration 0017 dropped the one to apps): one INSERT per job on
 * graphile-worker's pool, as that team would write it.
 */
import ivm from "isolated-vm";
import { createApp, newId, type Principal } from "@switchyard/core";
import { connect } from "@switchyard/db";
import { compileScript, DEFAULT_LIMITS, MODULE_GLOBAL } from "@switchyard/executor";
import type { JobHelpers } from "graphile-worker";
import postgres from "postgres";
import type { Scratch } from "./systems.ts";

const SYSTEM: Principal = { type: "system", id: "bench" };
const SOURCE = "export default () => null";
/** The peer has no scripts table; the row still carries a script id and version, as ours does. */
const SCRIPT_ID = "scr_assembled_peer";

/** Runs inside graphile-worker's task, after the job's start is recorded. */
export type PeerWork = (payload: unknown, helpers: JobHelpers) => Promise<void> | void;

export interface AssembledPeer {
  work: PeerWork;
  /** Checks that each of `jobs` left a run row (history only), then clears them for the next drain. */
  checkAndClear(jobs: number): Promise<void>;
  close(): void;
}

const INSERT_RUN = `
  insert into peer_runs (id, app_id, script_id, script_version, trigger_id, event_id, event_kind, attempt, status,
                         started_at, finished_at, duration_ms, cpu_ms, logs, logs_truncated, subrequests, result, error)
  values ($1, $2, $3, 1, null, $4, 'manual', $5, 'ok', $6, $7, $8, $9, '[]', false, '[]', $10, null)`;

/** Creates `peer_runs` (once per scratch database) and an app its rows name; returns the app's id. */
async function setupHistory(scratch: Scratch): Promise<string> {
  const sql = postgres(scratch.url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    // One statement, so the table and runs' foreign keys are made together or not at all.
    await sql.unsafe(`
      do $$ declare fk record; begin
        if to_regclass('peer_runs') is null then
          create table peer_runs (like runs including all);
          for fk in select pg_get_constraintdef(oid) as def from pg_constraint where conrelid = 'runs'::regclass and contype = 'f' loop
            execute format('alter table peer_runs add %s', fk.def);
          end loop;
        end if;
      end $$;`);
  } finally {
    await sql.end({ timeout: 2 });
  }
  const database = await connect({ url: scratch.url, poolSize: 1, applicationName: "switchyard-bench-peer-setup" });
  try {
    return (await createApp(database.db, SYSTEM, { name: `bench-assembled-peer-${newId("p")}` })).id;
  } finally {
    await database.close();
  }
}

export async function createAssembledPeer(scratch: Scratch, { history }: { history: boolean }): Promise<AssembledPeer> {
  // Compiled the same way a deploy compiles ours.
  const compiled = await compileScript({ source: SOURCE, language: "js" });
  if (!compiled.ok) throw new Error(`bench: the peer's script did not compile: ${compiled.error.message}`);
  const appId = history ? await setupHistory(scratch) : null;

  const isolate = new ivm.Isolate({ memoryLimit: DEFAULT_LIMITS.memoryMb });
  const context = isolate.createContextSync();
  const script = isolate.compileScriptSync(`${compiled.value.code}\n${MODULE_GLOBAL}.default`);
  const handler = script.runSync(context, { reference: true }) as ivm.Reference<(event: unknown, ctx: unknown) => unknown>;
  script.release();
  const callOptions = { arguments: { copy: true }, result: { copy: true }, timeout: DEFAULT_LIMITS.cpuMs } as const;

  const work: PeerWork = async (payload, helpers) => {
    const startedAt = new Date();
    const cpuBefore = isolate.cpuTime;
    const result = handler.applySync(undefined, [payload, { run: { attempt: helpers.job.attempts } }], callOptions);
    const cpuMs = Math.round(Number(isolate.cpuTime - cpuBefore) / 1e6);
    if (appId === null) return;
    const finishedAt = new Date();
    await helpers.query(INSERT_RUN, [
      newId("run"),
      appId,
      SCRIPT_ID,
      helpers.job.id,
      helpers.job.attempts,
      startedAt,
      finishedAt,
      finishedAt.getTime() - startedAt.getTime(),
      cpuMs,
      JSON.stringify(result ?? null),
    ]);
  };

  return {
    work,
    async checkAndClear(jobs) {
      if (appId === null) return;
      const sql = postgres(scratch.url, { max: 1, onnotice: () => {}, fetch_types: false, connect_timeout: 5 });
      try {
        const [row] = await sql<{ n: number }[]>`select count(*)::int as n from peer_runs where status = 'ok'`;
        if (row?.n !== jobs) throw new Error(`bench: the assembled peer left ${row?.n} run rows for ${jobs} jobs`);
        await sql`delete from peer_runs`;
      } finally {
        await sql.end({ timeout: 2 });
      }
    },
    close() {
      handler.release();
      context.release();
      isolate.dispose();
    },
  };
}
