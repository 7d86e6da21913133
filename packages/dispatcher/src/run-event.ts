import { decideFailure, newId, quarantineMessage, workspaceBlockedMessage, type ClaimedEvent, type Completion, type Database, type Logger, type RunRecord, type ScriptsService } from "@switchyard/core";
import { ISOLATE_CRASHED, type Executor, type RunOutcome } from "@switchyard/executor";
import type { ScriptCache } from "./script-cache.ts";

export interface RunEventDeps {
  database: Database;
  executor: Executor;
  scripts: Pick<ScriptsService, "effectiveLimits">;
  logger?: Logger;
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
    return refused(c, script?.version ?? 0, { name: "NotFound", message: `the ${appName === null ? "app" : "script"} of this event no longer exists`, code: "not_found" });
  }
  if (c.context.workspaceBlocked) {
    return refused(c, script.version, { name: "WorkspaceBlockedError", message: workspaceBlockedMessage(), code: "workspace_blocked" });
  }
  // The claim read the quarantine of the version it read; a deploy since
  // (the cache answered a later version) has lifted it.
  if (c.context.quarantined && script.version === scriptVersion) {
    return refused(c, script.version, { name: "ScriptQuarantinedError", message: quarantineMessage(script.version), code: "script_quarantined" });
  }
  const runId = newId("run");
  const started = new Date();
  let outcome: RunOutcome;
  try {
    outcome = await deps.executor.run({
      // The event's app owns the isolate, as it always has.
      script: script.appId === c.appId ? script : { ...script, appId: c.appId },
      event: c.event,
      ctx: {
        app: { id: c.appId, name: appName },
        trigger: trigger ? { id: trigger.id, kind: trigger.kind, name: trigger.name } : null,
        run: { id: runId, attempt: c.attempts, event_id: c.id, ...(c.replayOf ? { replay: true } : {}) },
      },
    });
  } catch (error) {
    deps.logger?.error({ err: error, eventId: c.id, runId }, "the executor failed to end a run; recording it as an error");
    return sandboxFailed(c, runId, script.version, started);
  }
  const failure = outcome.status === "ok" ? null : decideFailure(outcome.error?.retry ?? { kind: "retry" }, c.attempts, c.retry);
  const stoppedEngine = outcome.error?.code === ISOLATE_CRASHED;
  if (stoppedEngine) deps.logger?.warn({ eventId: c.id, runId, appId: c.appId, scriptId: c.scriptId, version: script.version }, "a run stopped the engine; its script version is quarantined until changed code is deployed, and the crash counts towards its workspace's block");
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
      subrequests: outcome.subrequests,
      result: outcome.resultTruncated ? { truncated: true } : outcome.result,
      error: outcome.error,
    },
    failure,
    ...(stoppedEngine ? { engineStopped: { workspaceId: c.context.workspaceId } } : {}),
  };
}

/** An attempt that does not run: an error run row, not retried (the event goes to the dead letters). */
function refused(c: ClaimedEvent, scriptVersion: number, error: { name: string; message: string; code: string }): Completion {
  const now = new Date();
  const record = errorRecord(newId("run"), scriptVersion, now, now, { ...error, stack: null, retry: { kind: "no_retry" } });
  return { claim: c, record, failure: { kind: "dead_letter" } };
}

/** The run row of an attempt that ended without an outcome from the sandbox: `error`, and nothing else. */
function errorRecord(runId: string, scriptVersion: number, startedAt: Date, finishedAt: Date, error: NonNullable<RunRecord["error"]>): RunRecord {
  const durationMs = finishedAt.getTime() - startedAt.getTime();
  return { runId, scriptVersion, status: "error", startedAt, finishedAt, durationMs, cpuMs: 0, logs: [], logsTruncated: false, result: null, error };
}

/**
 * The executor threw instead of describing the run (a bug, or a value it
 * could not handle): the attempt still ends as an error run row and a last
 * error, retried per policy, rather than lapsing its lease and running again
 * unrecorded until it is dead-lettered with no error at all. The thrown
 * error is logged, not stored: it was never masked.
 */
function sandboxFailed(c: ClaimedEvent, runId: string, scriptVersion: number, startedAt: Date): Completion {
  const error = { name: "SandboxError", message: "the sandbox failed while ending the run; its output was lost", stack: null, code: "sandbox_error", retry: { kind: "retry" as const } };
  return { claim: c, record: errorRecord(runId, scriptVersion, startedAt, new Date(), error), failure: decideFailure(error.retry, c.attempts, c.retry) };
}
