import { sql } from "drizzle-orm";
import type { Db } from "@switchyard/db";
import { newId } from "../ids.ts";
import type { Completion } from "./complete.ts";

/**
 * Script versions that stopped the engine a workspace may cause within
 * `ENGINE_CRASH_WINDOW` before it is blocked, unless the operator says
 * otherwise (SWITCHYARD_ENGINE_CRASH_LIMIT; 0: never blocked). A
 * per-version quarantine alone lets a tenant who can deploy restart a worker
 * once per distinct code it deploys; this bounds it per workspace, whatever
 * apps and scripts it makes next.
 */
export const DEFAULT_ENGINE_CRASH_LIMIT = 3;
export const ENGINE_CRASH_WINDOW = "24 hours";

/**
 * Records the runs in `completions` that stopped the engine
 * (`Completion.engineStopped`), before the completions are written, and
 * whether or not their leases still hold (the crash happened either way;
 * `crashed_run_id` then names a run whose row was not written):
 * - the script version is quarantined (`scripts.crashed_*`), only while it
 *   is the current one: a version deployed since is left alone;
 * - the crash is counted in `engine_crashes` against the workspace the
 *   claim read (so deleting the app or script during the run does not
 *   uncount it), once per script version: the runs of that version one
 *   stop ended, or a completion written again, add nothing;
 * - a workspace with `limit` of them within `ENGINE_CRASH_WINDOW` (since
 *   its last lift) is blocked; with a limit of 0, never. Its row is
 *   locked first, so crashes recorded at once by several workers are
 *   counted together.
 * One transaction of its own, only for a batch that holds such a run.
 */
export async function quarantineCrashedVersions(db: Db, completions: Completion[], limit = DEFAULT_ENGINE_CRASH_LIMIT): Promise<void> {
  const crashed = completions.flatMap(({ claim, record, engineStopped }) =>
    engineStopped && record
      ? [{ id: newId("crash"), workspace_id: engineStopped.workspaceId, app_id: claim.appId, script_id: claim.scriptId, version: record.scriptVersion, run_id: record.runId }]
      : [],
  );
  if (crashed.length === 0) return;
  const workspaceIds = [...new Set(crashed.flatMap((c) => (c.workspace_id === null ? [] : [c.workspace_id])))].sort();
  await db.transaction(async (tx) => {
    await tx.execute(sql`select id from workspaces where id in (select jsonb_array_elements_text(${JSON.stringify(workspaceIds)}::jsonb)) order by id for update`);
    await tx.execute(sql`
      with crashed as (
        select * from jsonb_to_recordset(${JSON.stringify(crashed)}::jsonb) as c(id text, workspace_id text, app_id text, script_id text, version int, run_id text)
      ), quarantined as (
        update scripts s
        set crashed_version = c.version, crashed_at = now(), crashed_run_id = c.run_id
        from crashed c
        where s.id = c.script_id and s.version = c.version
      )
      insert into engine_crashes (id, workspace_id, app_id, script_id, script_version, run_id)
      select c.id, c.workspace_id, c.app_id, c.script_id, c.version, c.run_id
      from crashed c
      where exists (select 1 from workspaces w where w.id = c.workspace_id)
      on conflict (script_id, script_version) do nothing`);
    if (limit <= 0) return;
    await tx.execute(sql`
      update workspaces w set engine_blocked_at = now()
      where w.engine_blocked_at is null
        and w.id in (select jsonb_array_elements_text(${JSON.stringify(workspaceIds)}::jsonb))
        and (select count(*) from engine_crashes e
             where e.workspace_id = w.id and e.at > now() - ${ENGINE_CRASH_WINDOW}::interval
               and e.at >= coalesce(w.engine_crashes_since, '-infinity'::timestamptz)) >= ${limit}`);
  });
}

/** What a quarantined version's refused run says (run-event.ts in the dispatcher writes it). */
export function quarantineMessage(version: number): string {
  return `version ${version} of this script stopped the engine on an earlier run and is quarantined; deploy changed code to run it again`;
}

/** What a blocked workspace's refused run says. */
export function workspaceBlockedMessage(): string {
  return `this workspace's scripts stopped the engine too often (SWITCHYARD_ENGINE_CRASH_LIMIT times within ${ENGINE_CRASH_WINDOW}); its events are refused until an operator lifts the block (DELETE /api/v1/admin/workspaces/{workspace}/engine-block)`;
}
