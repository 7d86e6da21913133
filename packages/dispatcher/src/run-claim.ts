import { complete, decideFailure, getAppById, getScriptById, getTriggerById, newId, type Claim, type CompletionResult, type Database, type ScriptsService } from "@switchyard/core";
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
export interface ClaimOutcome {
  result: CompletionResult;
  /** The attempt's run status; null when it did not run (its worker was lost every time). */
  status: RunOutcome["status"] | null;
}

export async function runClaim(deps: RunClaimDeps, c: Claim): Promise<ClaimOutcome> {
  const { db } = deps.database;
  // Its worker was lost on every attempt so far (the lease lapsed each time):
  // past the last attempt it goes to the dead letters without running again.
  if (c.attempts > c.retry.max_attempts) return { result: await complete(db, c, null, { kind: "dead_letter" }), status: null };
  const app = await getAppById(db, c.appId);
  const script = await getScriptById(db, c.scriptId);
  if (!app || !script) {
    const error = { name: "NotFound", message: `the ${app ? "script" : "app"} of this event no longer exists`, stack: null, code: "not_found", retry: { kind: "no_retry" } };
    const record = { runId: newId("run"), scriptVersion: script?.version ?? 0, status: "error" as const, durationMs: 0, cpuMs: 0, logs: [], logsTruncated: false, result: null, error };
    return { result: await complete(db, c, record, { kind: "dead_letter" }), status: "error" };
  }
  const trigger = c.triggerId ? await getTriggerById(db, c.triggerId) : undefined;
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
      trigger: trigger ? { id: trigger.id, kind: trigger.kind, name: trigger.name } : null,
      run: { id: runId, attempt: c.attempts, event_id: c.id, ...(c.replayOf ? { replay: true } : {}) },
    },
  });
  const failure = outcome.status === "ok" ? null : decideFailure(outcome.error?.retry ?? { kind: "retry" }, c.attempts, c.retry);
  const result = await complete(
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
  return { result, status: outcome.status };
}
