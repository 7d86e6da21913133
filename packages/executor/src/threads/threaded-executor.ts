/**
 * The executor as its caller sees it when isolates run on executor threads.
 * Each app is pinned to one thread (the least loaded when the app is first
 * seen), whose executor owns its isolates; the runs handed over in one turn
 * of the caller's event loop go to each thread in one message, and each
 * thread answers in batches too (protocol.ts). Host calls a thread cannot
 * answer itself are performed here, on the caller's Host.
 *
 * A thread runs its isolates one entry at a time: a run holds its thread
 * while its code runs (at most its remaining CPU budget per entry, then it
 * is stopped), and the thread takes the next run or host answer between
 * entries, in arrival order. Code a run left behind, entered after its end,
 * gets 250 ms of CPU in all before its isolate goes (app-isolate.ts). So a
 * script that loops stalls its own thread's other apps for at most its CPU
 * limit (plus that), and never the caller's event loop.
 *
 * A thread that dies is replaced at once, its runs ended as collateral. So
 * is one that stays inside an isolate past its entry's deadline: V8 gave up
 * on that isolate and isolated-vm parked the thread for good
 * (entry-watch.ts); the runs of the script version whose context it
 * entered end as `crashed` (the other runs on it as collateral), and the
 * caller hears of it through `onCatastrophicError`
 * (a parked thread cannot be joined, so the process cannot exit normally
 * any more). One
 * that dies before it could start (its thread-host failed) fails its runs
 * as `executor_unavailable` and is tried again after a wait that doubles
 * with each failed start: a broken thread-host does not spawn threads in a
 * loop, and runs fail at once while no thread can take them.
 */
import { Worker } from "node:worker_threads";
import type { Executor, ExecutorStats } from "../local-executor.ts";
import type { ResolvedOptions } from "../options.ts";
import { emptyOutcome, endedBeforeStart } from "../outcome.ts";
import { effectiveLimits } from "../options.ts";
import type { KillReason } from "../active-run.ts";
import { DISPOSE_REASONS, versionKey, type DisposeReason } from "../app-isolate.ts";
import type { RunOutcome, RunRequest } from "../types.ts";
import { sandboxSources } from "../sdk-source.ts";
import { ENTRY_WATCH_BYTES, entryOwner, ownsRun, readEntry, type EntryOwner } from "../entry-watch.ts";
import { answerCall } from "./forwarding-host.ts";
import { threadBundle } from "./thread-bundle.ts";
import type { FromThread, HostAnswer, ThreadConfig, ToThread } from "./protocol.ts";
import { SentTexts } from "./script-texts.ts";

interface PendingRun {
  request: RunRequest;
  resolve: (outcome: RunOutcome) => void;
}

interface ExecutorThread {
  worker: Worker;
  /** Runs handed over (or about to be) and not yet answered, by id. */
  pending: Map<number, PendingRun>;
  /** Runs of this turn, sent together when it ends. */
  queue: Array<{ id: number; request: RunRequest }>;
  /** The script texts this thread keeps, so a run crosses without its script's text (script-texts.ts). */
  texts: SentTexts;
  answers: Array<{ call: number; answer: HostAnswer }>;
  flushScheduled: boolean;
  /** Host calls under way here, to abort a fetch the thread gave up on. */
  calls: Map<number, AbortController>;
  stats: ExecutorStats | null;
  /** Apps pinned to it. */
  apps: number;
  closed: boolean;
  /** Its executor is up (its thread-host made): a death from here on is a crash, not a failed start. */
  ready: boolean;
  /** Starts that failed in a row before this one. */
  failedStarts: number;
  /** Where the thread shows the isolate entry it is in (entry-watch.ts). */
  entryWatch: SharedArrayBuffer;
  /** The entry last seen there, since when (`performance.now()`), and when it was first seen overdue. */
  watched: { seq: number; since: number; overdueAt: number | null };
  /** Settles when its worker has exited, or was given up as parked (never waited for). */
  exited: Promise<void>;
  settleExited: () => void;
}

// How long `dispose()` waits for a thread to close before terminating it,
// and then for the termination. A thread's close waits for its warm-ups,
// at most CACHE_WARMUP_WAIT_MS (thread-main.ts).
const DISPOSE_WAIT_MS = 10_000;

// An app's pin is forgotten past this many apps per warm isolate: the app
// then goes to the least loaded thread again, and its old isolate ages out.
const PINS_PER_POOL_SLOT = 4;

// The wait before starting again a thread that failed to start, doubled by
// each failed start in a row, up to the most.
const RESTART_FIRST_MS = 250;
const RESTART_MOST_MS = 30_000;

// How often the threads' entries are looked at, and how long past its
// timeout an entry must be seen to last to mean the thread is parked.
// isolated-vm's timeout ends an entry within milliseconds of it, even on a
// machine busier than its cores (bench:busy); when it cannot, it suspends
// the thread 5 s later ("Script failed to terminate"), which this counts as
// parked too. An entry must be seen overdue on two checks half a period
// apart or more: a process paused and resumed (SIGSTOP, a VM pause) sees
// its entries overdue once, before isolated-vm's own timer ends them.
const ENTRY_CHECK_MS = 1_000;
const ENTRY_GRACE_MS = 5_000;

const NO_RUN_CTX = { app: { id: "", name: "" }, trigger: null, run: { id: "", attempt: 0, event_id: "" } };

/** Runs isolates on `config.threads` executor threads; see the file comment. */
export function createThreadedExecutor(config: ResolvedOptions): Executor {
  const threadConfig: ThreadConfig = {
    // Each thread keeps its share of the warm isolates' memory (and count).
    isolateMemoryMb: Math.max(1, Math.floor(config.isolateMemoryMb / config.threads)),
    poolSize: Math.max(1, Math.floor(config.poolSize / config.threads)),
    idleMs: config.idleMs,
    defaultLimits: config.defaultLimits,
    maxLimits: config.maxLimits,
    logMaxBytes: config.logMaxBytes,
    resultMaxBytes: config.resultMaxBytes,
    contextsPerVersion: config.contextsPerVersion,
    watchIntervalMs: config.watchIntervalMs,
    maxSubrequests: config.maxSubrequests,
    fetchTimeoutMs: config.fetchTimeoutMs,
    threadHost: config.threadHost,
    hostHas: {
      signWithSecret: typeof config.host.signWithSecret === "function",
      fetch: typeof config.host.fetch === "function",
      watchSecrets: typeof config.host.watchSecrets === "function",
    },
    catastrophic: config.onCatastrophicError !== undefined,
  };
  // Built once per process, before the first thread starts (esbuild, ~100 ms).
  const sources = sandboxSources();
  const code = threadBundle(config.threadHost?.module ?? null);
  const threads: ExecutorThread[] = [];
  const pins = new Map<string, ExecutorThread>();
  // A warm isolate holds over 1 MB (isolate-pool.ts), so the budget in MB
  // bounds how many there can be when no count is set.
  const maxPins = Math.min(config.poolSize, config.isolateMemoryMb) * PINS_PER_POOL_SLOT;
  let runIds = 0;
  let closed = false;
  let disposed: Promise<void> = Promise.resolve();
  // Secret changes, counted where every thread sees the count at once
  // (thread-secrets.ts); the message after it says which app.
  const secretsGeneration = new Int32Array(new SharedArrayBuffer(4));
  const unwatchSecrets =
    config.host.watchSecrets?.((change) => {
      const generation = Atomics.add(secretsGeneration, 0, 1) + 1;
      for (const thread of threads) if (!thread.closed) post(thread, { t: "secrets", generation, appId: change.appId });
    }) ?? null;

  for (let i = 0; i < config.threads; i++) threads.push(start());
  const entryCheck = setInterval(checkEntries, ENTRY_CHECK_MS);
  entryCheck.unref();

  function start(failedStarts = 0): ExecutorThread {
    const entryWatch = new SharedArrayBuffer(ENTRY_WATCH_BYTES);
    const worker = new Worker(code, { eval: true, workerData: { config: threadConfig, sources, secretsGeneration, entryWatch }, name: "switchyard-executor" });
    let settleExited = () => {};
    const exited = new Promise<void>((resolve) => (settleExited = resolve));
    worker.once("exit", () => settleExited());
    const thread: ExecutorThread = {
      worker,
      exited,
      settleExited,
      pending: new Map(),
      queue: [],
      texts: new SentTexts(),
      answers: [],
      flushScheduled: false,
      calls: new Map(),
      stats: null,
      apps: 0,
      closed: false,
      ready: false,
      failedStarts,
      entryWatch,
      watched: { seq: 0, since: 0, overdueAt: null },
    };
    worker.on("message", (message: FromThread) => receive(thread, message));
    worker.on("error", (error) => lost(thread, error));
    worker.on("exit", () => lost(thread, null));
    // The caller's process may end while its threads idle.
    worker.unref();
    return thread;
  }

  function receive(thread: ExecutorThread, message: FromThread): void {
    switch (message.t) {
      case "batch": {
        if (message.stats) thread.stats = message.stats;
        // Before the outcomes: a run that aborted a fetch and ended has its host request aborted by then.
        for (const call of message.aborts) thread.calls.get(call)?.abort();
        for (const { id, outcome } of message.outcomes) {
          const run = thread.pending.get(id);
          thread.pending.delete(id);
          run?.resolve(outcome);
        }
        for (const { call, request } of message.calls) {
          const controller = new AbortController();
          thread.calls.set(call, controller);
          void answerCall(config.host, request, controller.signal, config.onHostFailure).then((answer) => {
            thread.calls.delete(call);
            thread.answers.push({ call, answer });
            schedule(thread);
          });
        }
        refreshRef(thread);
        return;
      }
      case "failure": {
        const error = Object.assign(new Error(message.error.message), { name: message.error.name, stack: message.error.stack ?? undefined });
        config.onHostFailure(error, message.info);
        return;
      }
      case "catastrophic":
        config.onCatastrophicError?.(message.message);
        return;
      case "ready":
        thread.ready = true;
        return;
      case "fatal":
        lost(thread, Object.assign(new Error(message.error.message), { name: message.error.name, stack: message.error.stack ?? undefined }));
        void thread.worker.terminate();
        return;
      case "closed":
        thread.stats = message.stats;
        thread.closed = true;
        void thread.worker.terminate();
        return;
    }
  }

  // A thread that died (a bug, or V8 giving up on it) takes its runs with
  // it: they end as their isolate's collateral and may be retried; its apps
  // go to a new thread. One that never started (its thread-host failed)
  // fails its runs as unavailable, and is started again after a wait.
  function lost(thread: ExecutorThread, error: unknown, stuckIn: EntryOwner | null = null): void {
    if (thread.closed) return;
    thread.closed = true;
    if (error !== null) config.onHostFailure(error, { op: "executor.thread", ctx: NO_RUN_CTX });
    // Nobody is left to answer: a fetch the thread waited for stops now.
    for (const controller of thread.calls.values()) controller.abort();
    thread.calls.clear();
    thread.answers = [];
    thread.queue = [];
    for (const [id, run] of thread.pending) {
      thread.pending.delete(id);
      // Only the runs of the version whose entry never came back: the others may run again elsewhere.
      const reason = stuckIn !== null && ownsRun(stuckIn, run.request.script.appId, versionKey(run.request.script)) ? "crashed" : "collateral";
      run.resolve(closed ? endedOutcome(run.request, "shutdown") : thread.ready ? endedOutcome(run.request, reason) : unavailableOutcome());
    }
    for (const [app, pinned] of pins) if (pinned === thread) pins.delete(app);
    const index = threads.indexOf(thread);
    if (closed || index < 0) return;
    if (thread.ready) {
      threads[index] = start();
      return;
    }
    // It would most likely fail the same way at once: a broken thread-host
    // must not have threads spawned in a loop. Until then it stays in the
    // list, closed, and runs that only it could take fail at once.
    const wait = Math.min(RESTART_MOST_MS, RESTART_FIRST_MS * 2 ** thread.failedStarts);
    setTimeout(() => {
      if (!closed && threads[index] === thread) threads[index] = start(thread.failedStarts + 1);
    }, wait).unref();
  }

  // A thread still inside an isolate well past its entry's timeout is
  // parked there for good (entry-watch.ts): it is given up like a dead one,
  // the app whose isolate it was told apart. It is never terminated (that
  // would wait on it forever). Checked until every thread has closed, also
  // after `dispose()`: a thread parked then would keep its runs for ever.
  function checkEntries(): void {
    if (closed && threads.every((thread) => thread.closed)) {
      clearInterval(entryCheck);
      return;
    }
    const now = performance.now();
    for (const thread of threads) {
      if (thread.closed) continue;
      const entry = readEntry(thread.entryWatch);
      const watched = thread.watched;
      if (entry === null || entry.seq !== watched.seq) {
        thread.watched = { seq: entry?.seq ?? 0, since: now, overdueAt: null };
        continue;
      }
      if (now - watched.since < entry.timeoutMs + ENTRY_GRACE_MS) continue;
      if (watched.overdueAt === null || now - watched.overdueAt < ENTRY_CHECK_MS / 2) {
        watched.overdueAt ??= now;
        continue;
      }
      parked(thread, entryOwner(thread.entryWatch));
    }
  }

  function parked(thread: ExecutorThread, owner: EntryOwner): void {
    const { worker } = thread;
    worker.removeAllListeners();
    // Nobody waits for it to exit, `dispose()` included: it may never.
    thread.settleExited();
    // Should it ever come back after all, it is told to close, and whatever it says is ignored.
    worker.on("error", () => {});
    worker.unref();
    lost(thread, null, owner);
    worker.postMessage({ t: "dispose" } satisfies ToThread);
    const message = `an executor thread stopped answering inside the isolate of app ${owner.appId}${owner.script === null ? "" : ` (script ${owner.script})`}; another thread took its place, and the process cannot exit normally while that thread stays stuck`;
    if (config.onCatastrophicError) config.onCatastrophicError(message);
    else config.onHostFailure(new Error(message), { op: "executor.thread", ctx: NO_RUN_CTX });
  }

  function schedule(thread: ExecutorThread): void {
    if (thread.flushScheduled) return;
    thread.flushScheduled = true;
    setImmediate(() => flush(thread));
  }

  // One message per thread per turn: every run and host answer of the turn.
  function flush(thread: ExecutorThread): void {
    thread.flushScheduled = false;
    if (thread.closed) return;
    if (thread.answers.length > 0) {
      post(thread, { t: "answers", answers: thread.answers });
      thread.answers = [];
    }
    if (thread.queue.length > 0) {
      const runs = thread.queue.map(({ id, request }) => thread.texts.wire(id, request));
      thread.queue = [];
      try {
        post(thread, { t: "runs", runs });
      } catch (error) {
        // Something in a run cannot be copied to a thread (an event structured clone refuses). The thread's
        // texts would no longer match what `texts` recorded as sent: it is given up and replaced, its runs ended.
        lost(thread, error);
        void thread.worker.terminate();
      }
    }
  }

  function post(thread: ExecutorThread, message: ToThread): void {
    thread.worker.postMessage(message);
  }

  // A thread with runs in flight keeps the process alive; an idle one does not.
  function refreshRef(thread: ExecutorThread): void {
    // Once disposed, `dispose()` holds each thread until it exits (or gives it up).
    if (closed) return;
    if (thread.pending.size > 0 || thread.calls.size > 0) thread.worker.ref();
    else thread.worker.unref();
  }

  function threadFor(appId: string): ExecutorThread {
    const pinned = pins.get(appId);
    if (pinned && !pinned.closed) {
      // Re-inserted: Map order is least recently used first.
      pins.delete(appId);
      pins.set(appId, pinned);
      return pinned;
    }
    let best: ExecutorThread | null = null;
    for (const thread of threads) if (!thread.closed && (best === null || thread.apps < best.apps)) best = thread;
    // Every thread is waiting to start again: the run fails, the app stays unpinned.
    if (best === null) return threads[0] as ExecutorThread;
    best.apps++;
    pins.set(appId, best);
    if (pins.size > maxPins) {
      const [oldest, thread] = pins.entries().next().value as [string, ExecutorThread];
      pins.delete(oldest);
      thread.apps--;
    }
    return best;
  }

  function endedOutcome(request: RunRequest, reason: KillReason): RunOutcome {
    return endedBeforeStart(reason, effectiveLimits(request.script.limits, config.defaultLimits, config.maxLimits));
  }

  return {
    run(request) {
      if (closed) return Promise.reject(new Error("executor: run() after dispose()"));
      const thread = threadFor(request.script.appId);
      if (thread.closed) return Promise.resolve(unavailableOutcome());
      const id = ++runIds;
      return new Promise<RunOutcome>((resolve) => {
        thread.pending.set(id, { request, resolve });
        thread.queue.push({ id, request });
        thread.worker.ref();
        schedule(thread);
      });
    },
    stats() {
      const sum: ExecutorStats = {
        isolates: 0,
        isolateBytes: 0,
        isolateBudgetBytes: 0,
        spareIsolates: 0,
        contexts: 0,
        idleContexts: 0,
        activeRuns: 0,
        totals: { runs: 0, isolatesCreated: 0, batchedStarts: 0, isolatesDisposed: Object.fromEntries(DISPOSE_REASONS.map((reason) => [reason, 0])) as Record<DisposeReason, number>, timeouts: 0, ooms: 0 },
      };
      for (const thread of threads) {
        sum.activeRuns += thread.pending.size;
        const s = thread.stats;
        if (!s) continue;
        sum.isolates += s.isolates;
        sum.isolateBytes += s.isolateBytes;
        sum.isolateBudgetBytes += s.isolateBudgetBytes;
        sum.spareIsolates += s.spareIsolates;
        sum.contexts += s.contexts;
        sum.idleContexts += s.idleContexts;
        sum.totals.runs += s.totals.runs;
        sum.totals.isolatesCreated += s.totals.isolatesCreated;
        sum.totals.batchedStarts += s.totals.batchedStarts;
        sum.totals.timeouts += s.totals.timeouts;
        sum.totals.ooms += s.totals.ooms;
        for (const reason of DISPOSE_REASONS) sum.totals.isolatesDisposed[reason] += s.totals.isolatesDisposed[reason];
      }
      return sum;
    },
    dispose() {
      if (closed) return disposed;
      closed = true;
      unwatchSecrets?.();
      for (const thread of threads) {
        // Runs not handed over yet end here; the thread ends the rest.
        for (const { id, request } of thread.queue) {
          thread.pending.get(id)?.resolve(endedOutcome(request, "shutdown"));
          thread.pending.delete(id);
        }
        thread.queue = [];
        if (!thread.closed) post(thread, { t: "dispose" });
        // Idle threads are unref'd (the process may end while they idle);
        // a caller awaiting this must not see its process end before they do.
        thread.worker.ref();
      }
      disposed = threadsGone([...threads]);
      return disposed;
    },
  };
}

/**
 * Settles once every thread in `threads` has exited: each closes when told
 * (its runs ended, its isolates disposed, its warm-ups settled) and is then
 * terminated. A process that exits with a thread still inside isolated-vm
 * (an isolate being made or compiled into) can hang in its exit, or crash
 * there; so a caller waits for this before it ends. One not gone within
 * `DISPOSE_WAIT_MS` is terminated; past that again, it is left (a thread
 * stuck inside an isolate cannot be stopped, entry-watch.ts).
 */
async function threadsGone(threads: ExecutorThread[]): Promise<void> {
  const within = (ms: number, promise: Promise<unknown>) =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      timer.unref();
      void promise.then(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  await Promise.all(
    threads.map(async (thread) => {
      if (await within(DISPOSE_WAIT_MS, thread.exited)) return;
      void thread.worker.terminate();
      // Given up for good: it must not keep the process alive either.
      if (!(await within(DISPOSE_WAIT_MS, thread.exited))) thread.worker.unref();
    }),
  );
}

// The cause (the operator's thread-host failing) went to onHostFailure; it
// may say things about the operator's setup that are no app's business.
function unavailableOutcome(): RunOutcome {
  return emptyOutcome("error", {
    name: "ExecutorUnavailableError",
    message: "the run's executor thread could not start (the operator's log has the cause); the run may be retried",
    stack: null,
    code: "executor_unavailable",
    retry: { kind: "retry" },
  });
}
