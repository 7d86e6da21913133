import { finishRun, newId, startRun, type App, type Database, type Invoker, type Logger, type Script, type ScriptsService } from "@switchyard/core";
import type { Executor, RunOutcome } from "@switchyard/executor";

export interface RunMeta {
  eventId: string;
  triggerId: string | null;
  trigger: { id: string; kind: string; name: string } | null;
  attempt: number;
  replay?: boolean;
}

/**
 * Runs one script attempt end to end: a `runs` row in state running, the
 * sandboxed run, then the (already redacted) outcome stored on the row.
 */
export function createScriptRunner(deps: { database: Database; executor: Executor; scripts: ScriptsService; logger: Logger }) {
  const { database, executor, scripts, logger } = deps;
  const inFlight = new Set<Promise<unknown>>();

  async function execute(app: App, script: Script, event: { kind: string }, meta: RunMeta, runId: string): Promise<RunOutcome> {
    const limits = scripts.effectiveLimits(script);
    const outcome = await executor.run({
      script: {
        id: script.id,
        appId: app.id,
        version: script.version,
        code: script.compiled,
        sourceMap: script.sourceMap,
        freshContext: script.freshContext,
        limits: { memoryMb: limits.memory_mb, cpuMs: limits.cpu_ms, wallMs: limits.wall_ms },
      },
      event,
      ctx: {
        app: { id: app.id, name: app.name },
        trigger: meta.trigger,
        run: { id: runId, attempt: meta.attempt, event_id: meta.eventId, ...(meta.replay ? { replay: true } : {}) },
      },
    });
    await finishRun(database.db, runId, {
      status: outcome.status,
      durationMs: Math.round(outcome.durationMs),
      cpuMs: Math.round(outcome.cpuMs),
      logs: outcome.logs,
      logsTruncated: outcome.logsTruncated,
      result: outcome.resultTruncated ? { truncated: true } : outcome.result,
      error: outcome.error,
    });
    return outcome;
  }

  const invoker: Invoker = {
    async invoke(principal, appRef, scriptRef, payload) {
      const { app, script } = await scripts.forInvoke(principal, appRef, scriptRef);
      const eventId = newId("evt");
      const run = await startRun(database.db, {
        appId: app.id,
        scriptId: script.id,
        scriptVersion: script.version,
        triggerId: null,
        eventId,
        eventKind: "manual",
        attempt: 1,
      });
      // Until the outbox exists, a manual run starts right here and the caller follows it by id.
      const meta: RunMeta = { eventId, triggerId: null, trigger: null, attempt: 1 };
      const pending = execute(app, script, { kind: "manual", payload } as { kind: string }, meta, run.id).catch((error: unknown) =>
        logger.error({ err: error, runId: run.id }, "manual run failed to complete"),
      );
      inFlight.add(pending);
      void pending.finally(() => inFlight.delete(pending));
      return { event_id: eventId, run_id: run.id };
    },
  };

  return {
    execute,
    invoker,
    /** Waits for runs in flight (graceful shutdown). */
    async drain(): Promise<void> {
      await Promise.allSettled([...inFlight]);
    },
  };
}

export type ScriptRunner = ReturnType<typeof createScriptRunner>;
