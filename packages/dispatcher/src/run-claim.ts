import { complete, decideFailure, getAppById, getScriptById, newId, type Claim, type CompletionResult, type Database, type ScriptsService } from "@switchyard/core";
import type { Executor, RunOutcome } from "@switchyard/executor";

export interface RunClaimDeps {
  database: Database;
  executor: Executor;
  scripts: Pick<ScriptsService, "effectiveLimits">;
}

/**
 * Runs one claimed event to its completion: load the app and the script's
 * current version, run it in the sandbox, and record the attempt (run row,
 * retry or dead letter) in one fenced transaction.
 */
export async function runClaim(deps: RunClaimDeps, c: Claim): Promise<CompletionResult> {
  const { db } = deps.database;
  // Its worker was lost on every attempt so far (the lease lapsed each time):
  // past the last attempt it goes to the dead letters without running again.
  if (c.attempts > c.retry.max_attempts) return complete(db, c, null, { kind: "dead_letter" });
  const app = await getAppById(db, c.appId);
  const script = await getScriptById(db, c.scriptId);
  if (!app || !script) {
    const error = { name: "NotFound", message: `the ${app ? "script" : "app"} of this event no longer exists`, stack: null, code: "not_found", retry: { kind: "no_retry" } };
    return complete(db, c, { runId: newId("run"), scriptVersion: script?.version ?? 0, status: "error", durationMs: 0, cpuMs: 0, logs: [], logsTruncated: false, result: null, error }, { kind: "dead_letter" });
  }
  const limits = deps.scripts.effectiveLimits(script);
  const runId = newId("run");
  const outcome: RunOutcome = await deps.executor.run({
    script: {
      id: script.id,
      appId: app.id,
      version: script.version,
      code: script.compiled,
      sourceMap: script.sourceMap,
      freshContext: script.freshContext,
      limits: { memoryMb: limits.memory_mb, cpuMs: limits.cpu_ms, wallMs: limits.wall_ms },
    },
    event: c.event,
    ctx: {
      app: { id: app.id, name: app.name },
      trigger: null,
      run: { id: runId, attempt: c.attempts, event_id: c.id, ...(c.replayOf ? { replay: true } : {}) },
    },
  });
  const failure = outcome.status === "ok" ? null : decideFailure(outcome.error?.retry ?? { kind: "retry" }, c.attempts, c.retry);
  return complete(
    db,
    c,
    {
      runId,
      scriptVersion: script.version,
      status: outcome.status,
      durationMs: Math.round(outcome.durationMs),
      cpuMs: Math.round(outcome.cpuMs),
      logs: outcome.logs,
      logsTruncated: outcome.logsTruncated,
      result: outcome.resultTruncated ? { truncated: true } : outcome.result,
      error: outcome.error,
    },
    failure,
  );
}
