import { sql } from "drizzle-orm";
import type { Db } from "@switchyard/db";
import type { Completion } from "./complete.ts";

/**
 * Quarantines the script versions whose runs in `completions` stopped the
 * engine (`Completion.stoppedEngine`; the columns are `scripts.crashed_*`):
 * one statement of its own for the batch, before the completions are
 * written, whether or not their leases still hold (the crash happened
 * either way; `crashed_run_id` then names a run whose row was not written).
 * A version redeployed meanwhile is left alone: only the version that
 * crashed is marked, and only while it is current.
 */
export async function quarantineCrashedVersions(db: Db, completions: Completion[]): Promise<void> {
  const crashed = completions.flatMap(({ claim, record, stoppedEngine }) =>
    stoppedEngine === true && record ? [{ script_id: claim.scriptId, version: record.scriptVersion, run_id: record.runId }] : [],
  );
  if (crashed.length === 0) return;
  await db.execute(sql`
    update scripts s
    set crashed_version = c.version, crashed_at = now(), crashed_run_id = c.run_id
    from jsonb_to_recordset(${JSON.stringify(crashed)}::jsonb) as c(script_id text, version int, run_id text)
    where s.id = c.script_id and s.version = c.version`);
}

/** What a quarantined version's refused run says (run-event.ts in the dispatcher writes it). */
export function quarantineMessage(version: number): string {
  return `version ${version} of this script stopped the engine on an earlier run and is quarantined; deploy changed code to run it again`;
}
