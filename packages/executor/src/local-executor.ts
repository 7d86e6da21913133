/**
 * The executor on one thread: runs a compiled script version for an event
 * in its app's isolate, entered synchronously from this thread, under CPU,
 * wall-clock and memory limits, with the SDK backed by a `Host` answered on
 * this thread's event loop, and describes what happened as a `RunOutcome`.
 * `createExecutor` (executor.ts) runs one of these on each executor thread,
 * or on the caller's thread.
 */
import { ActiveRun } from "./active-run.ts";
import type { AppIsolate, DisposeReason } from "./app-isolate.ts";
import { IsolatePool } from "./isolate-pool.ts";
import { maskRecordedUrl } from "./mask-url.ts";
import { effectiveLimits, type ResolvedOptions } from "./options.ts";
import { describeEnd, endedBeforeStart, finishLogs, type RunEnd } from "./outcome.ts";
import { createRedactor, type SecretRead } from "./redact.ts";
import { RunSession } from "./run-session.ts";
import { disposeWaiting, later } from "./later.ts";
import { warmSdkCache } from "./sdk-warmup.ts";
import { prepareRuntimeCache } from "./runtime-script.ts";
import type { SandboxContext } from "./sandbox-context.ts";
import type { RunOutcome, RunRequest } from "./types.ts";
import { Watchdog } from "./watchdog.ts";

/** A snapshot of the executor's pools, for metrics and health checks. */
export interface ExecutorStats {
  /** Isolates alive (one per app and memory size): the warm ones and cold ones with runs in them. */
  isolates: number;
  /** What they hold, the spare's included, in bytes, as last measured (after a run, at most a second old). */
  isolateBytes: number;
  /** What the warm isolates may hold (`isolateMemoryMb`), in bytes. */
  isolateBudgetBytes: number;
  /** Blank isolates made ahead for apps' first runs. */
  spareIsolates: number;
  /** Contexts alive across all isolates, in use or idle. */
  contexts: number;
  /** Contexts kept warm for their script version's next run. */
  idleContexts: number;
  /** Runs in flight. */
  activeRuns: number;
  /** Counts since the executor was created. */
  totals: {
    runs: number;
    /** App isolates made: each a cold start (its app had no warm isolate). */
    isolatesCreated: number;
    /** Runs handed to their executor thread in one message together with other runs of the same app. */
    batchedStarts: number;
    /** Isolates disposed, by why. */
    isolatesDisposed: Record<DisposeReason, number>;
    timeouts: number;
    ooms: number;
  };
}

/** Runs scripts; see `createExecutor`. */
export interface Executor {
  /** Runs `req.script`'s handler once. Never rejects for anything the script does; its failures are in the outcome. */
  run(req: RunRequest): Promise<RunOutcome>;
  stats(): ExecutorStats;
  /**
   * Disposes every isolate; runs in flight end with status `error`
   * (`executor_closed`), later `run` calls throw. Settles once the executor's
   * threads have exited: a process should not end before (threaded-executor.ts).
   */
  dispose(): Promise<void>;
}

/** The executor on one thread, with what its thread adds to the stats. */
export interface LocalExecutor extends Executor {
  /** Counts runs of one app started from one hand-off (executor threads). */
  countBatchedStarts(runs: number): void;
}

/**
 * The executor on the calling thread, with every default filled in: each
 * app gets its own isolate (never shared across apps), kept warm in a
 * pool bounded by memory (isolate-pool.ts); a script version's context is reused across its runs unless
 * the script asks for `freshContext`.
 */
export function createLocalExecutor(config: ResolvedOptions): LocalExecutor {
  const pool = new IsolatePool({
    memoryBytes: config.isolateMemoryMb * 1024 * 1024,
    poolSize: config.poolSize,
    idleMs: config.idleMs,
    spareMemoryMb: config.defaultLimits.memoryMb,
    // Characters never outnumber UTF-8 bytes, so a cap in characters inside
    // the isolate never drops what the byte cap on the host would keep.
    sandbox: { logMaxChars: config.logMaxBytes, resultMaxChars: config.resultMaxBytes },
    contextsPerVersion: config.contextsPerVersion,
    onCatastrophicError: config.onCatastrophicError,
  });
  const watchdog = new Watchdog(config.watchIntervalMs);
  // Once per thread, on isolated-vm's threads: the web runtime's code cache
  // is ready before the first app needs it (runtime-script.ts).
  void prepareRuntimeCache();
  // Once per thread, between this turn and the first run: the SDK
  // bootstrap's warm cache, from a run of our own (sdk-warmup.ts).
  later(() => {
    if (!closed) void warmSdkCache();
  });
  const totals = { runs: 0, timeouts: 0, ooms: 0, batchedStarts: 0 };
  let closed = false;

  async function run(req: RunRequest): Promise<RunOutcome> {
    if (closed) throw new Error("executor: run() after dispose()");
    const { script } = req;
    const limits = effectiveLimits(script.limits, config.defaultLimits, config.maxLimits);
    // Serialized before anything starts: an event that is not JSON is the caller's bug.
    const payload = JSON.stringify({ event: req.event ?? null, ctx: req.ctx });
    totals.runs++;
    // A context of this version on its way back from a run that answered
    // (context-relay.ts): the run waits for it before it starts. Meanwhile it
    // is not in the isolate, so no sibling's entry is charged to it, bounds it
    // or ends it, and its clocks start once it has a context.
    const coming = pool.contextComingBack(script, limits.memoryMb);
    const handed = coming ? await coming : null;
    // The executor closed while it waited: it never started.
    if (closed) return endedBeforeStart("shutdown", limits);
    const startedAt = new Date();
    const t0 = performance.now();

    const app = pool.get(script.appId, limits.memoryMb);
    const active = new ActiveRun(app, limits, t0);
    app.join(active);
    watchdog.add(active);
    let context: SandboxContext | undefined;
    let firstLineColumnOffset = 0;
    const session = new RunSession({
      host: config.host,
      ctx: req.ctx,
      startedAt: t0,
      logMaxBytes: config.logMaxBytes,
      onHostFailure: config.onHostFailure,
      onSecretDelivered: (key, secret) => context?.rememberSecret(key, secret),
      deadline: t0 + limits.wallMs,
      maxSubrequests: config.maxSubrequests,
      fetchTimeoutMs: config.fetchTimeoutMs,
    });

    const work = (async () => {
      // The handed context is this run's unless its isolate went meanwhile (the pool then made a new one).
      const acquired = handed?.app === app ? app.takeHanded(handed.context) : app.acquire(script);
      const entered = acquired.context;
      context = entered;
      firstLineColumnOffset = acquired.firstLineColumnOffset;
      const envelope = entered.invoke(session, payload, () => {
        active.answer();
        watchdog.delete(active);
        app.answered(entered);
      });
      app.entered(entered, active.answered);
      return envelope;
    })();
    let end: RunEnd;
    try {
      const raced = await Promise.race([work.then((envelope) => ({ envelope })), active.killed]);
      end = typeof raced === "string" ? { kind: "killed", reason: raced } : { kind: "envelope", envelope: raced.envelope };
    } catch (error) {
      end = failureEnd(app, active, error);
    } finally {
      watchdog.delete(active);
      active.sampleCpu();
      app.leave(active);
      session.finish();
    }
    // Once killed, `work` rejects when the isolate goes; nobody waits for it.
    work.catch(() => {});

    // The context's list already holds this run's reads, unless the context
    // was never made (the run ended before it existed).
    const secrets: SecretRead[] = context ? [...context.delivered.values()] : session.secretValues;
    const redactor = createRedactor(secrets);
    let described: ReturnType<typeof describeEnd> | undefined;
    try {
      described = describeEnd({ end, script, limits, redactor, firstLineColumnOffset, resultMaxBytes: config.resultMaxBytes });
    } finally {
      // Given back whatever happens: a run of the version may be waiting for it.
      // A run waiting for it enters it only after what session.finish() queued
      // (the settles answering this run's leftover calls run_finished): those
      // find no run in the context and are charged to none.
      if (context) {
        if (described?.discard !== false) context.broken = true;
        // A host call still unanswered would land in the next run's context.
        app.giveBack(script, context, session.pending === 0);
      }
      pool.released(app);
    }
    if (described.status === "timeout") totals.timeouts++;
    if (described.status === "oom") totals.ooms++;

    const { logs, truncated } = finishLogs(session.logs, redactor, config.logMaxBytes, session.logsTruncated);
    return {
      status: described.status,
      result: described.result,
      resultTruncated: described.resultTruncated,
      error: described.error,
      logs,
      logsTruncated: truncated,
      startedAt,
      durationMs: Math.round((performance.now() - t0) * 1000) / 1000,
      cpuMs: Math.round(active.cpuMs * 1000) / 1000,
      secretsRead: [...session.secretsRead],
      subrequests: session.fetches.subrequests.map((sub) => ({ ...sub, method: redactor.text(sub.method), url: maskRecordedUrl(sub.url, redactor) })),
    };
  }

  return {
    run,
    countBatchedStarts(runs) {
      totals.batchedStarts += runs;
    },
    stats() {
      let contexts = 0;
      let idleContexts = 0;
      let activeRuns = 0;
      for (const app of pool.all()) {
        contexts += app.contexts;
        idleContexts += app.idleContexts;
        activeRuns += app.active.size;
      }
      return {
        isolates: pool.size,
        isolateBytes: pool.bytes,
        isolateBudgetBytes: config.isolateMemoryMb * 1024 * 1024,
        spareIsolates: pool.spares,
        contexts,
        idleContexts,
        activeRuns,
        totals: { ...totals, isolatesCreated: pool.counters.created, isolatesDisposed: { ...pool.counters.disposed } },
      };
    },
    dispose() {
      if (closed) return Promise.resolve();
      closed = true;
      pool.close();
      disposeWaiting();
      watchdog.stop();
      return Promise.resolve();
    },
  };
}

// `work` failed rather than answered: either the isolate went away under the
// run (a kill we have not seen yet, or isolated-vm's memory limit), or the
// host side failed (the script did not compile in the isolate).
function failureEnd(app: AppIsolate, active: ActiveRun, error: unknown): RunEnd {
  if (active.reason !== null) return { kind: "killed", reason: active.reason };
  if (app.disposed) {
    // isolated-vm disposes an isolate by itself only at its memory limit.
    if (app.disposeReason === null) app.dispose("memory");
    return { kind: "killed", reason: active.reason ?? "memory" };
  }
  return { kind: "failed", error };
}
