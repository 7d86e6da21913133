import { decideFailure, newId, type ClaimedEvent, type Completion, type Database, type ScriptsService } from "@switchyard/core";
import type { Executor, RunOutcome } from "@switchyard/executor";
import type { ScriptCache } from "./script-cache.ts";

export interface RunEventDeps {
  database: Database;
  executor: Executor;
  scripts: Pick<ScriptsService, "effectiveLimits">;
}

/**
 * Runs one claimed event in the sandbox and answers how its attempt ends
 * (run record, retry or dead letter), for the completion batch to record in
 * its fenced write. Nothing here queries the database on the common path: the
 * claim brought the app, trigger and script version, the cache the code.
 */
export async function runEvent(deps: RunEventDeps, cache: ScriptCache, c: ClaimedEvent): Promise<Completion> {
  // Its worker was lost on every attempt so far (the lease lapsed each time):
  // past the last attempt it goes to the dead letters without running again.
  if (c.attempts > c.retry.max_attempts) return { claim: c, record: null, failure: { kind: "dead_letter" } };
  const { appName, scriptVersion, trigger } = c.context;
  const script = appName === null || scriptVersion === null ? undefined : await cache.get(c.scriptId, scriptVersion);
  if (appName === null || !script) {
    const error = { name: "NotFound", message: `the ${appName === null ? "app" : "script"} of this event no longer exists`, stack: null, code: "not_found", retry: { kind: "no_retry" } };
    const now = new Date();
    const record = { runId: newId("run"), scriptVersion: script?.version ?? 0, status: "error" as const, startedAt: now, finishedAt: now, durationMs: 0, cpuMs: 0, logs: [], logsTruncated: false, result: null, error };
    return { claim: c, record, failure: { kind: "dead_letter" } };
  }
  const runId = newId("run");
  const outcome: RunOutcome = await deps.executor.run({
    // The event's app owns the isolate, as it always has.
    script: script.appId === c.appId ? script : { ...script, appId: c.appId },
    event: c.event,
    ctx: {
      app: { id: c.appId, name: appName },
      trigger: trigger ? { id: trigger.id, kind: trigger.kind, name: trigger.name } : null,
      run: { id: runId, attempt: c.attempts, event_id: c.id, ...(c.replayOf ? { replay: true } : {}) },
    },
  });
  const failure = outcome.status === "ok" ? null : decideFailure(outcome.error?.retry ?? { kind: "retry" }, c.attempts, c.retry);
  const durationMs = Math.round(outcome.durationMs);
  return {
    claim: c,
    record: {
      runId,
      scriptVersion: script.version,
      status: outcome.status,
      // The handler's own start and end, not the (batched) completion's time.
      startedAt: outcome.startedAt,
      finishedAt: new Date(outcome.startedAt.getTime() + durationMs),
      durationMs,
      cpuMs: Math.round(outcome.cpuMs),
      logs: outcome.logs,
      logsTruncated: outcome.logsTruncated,
      result: outcome.resultTruncated ? { truncated: true } : outcome.result,
      error: outcome.error,
    },
    failure,
  };
}
