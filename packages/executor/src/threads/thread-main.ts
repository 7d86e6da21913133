/**
 * An executor thread: a local executor (local-executor.ts) whose isolates
 * this thread owns, enters synchronously and serves from its own event loop.
 * Runs arrive in batches from the caller's thread; their outcomes, and the
 * host calls this thread cannot answer itself, go back in batches, one
 * message per turn of this thread's loop.
 */
import { parentPort, workerData } from "node:worker_threads";
import { watchEntries } from "../entry-watch.ts";
import { createLocalExecutor } from "../local-executor.ts";
import type { ExecutorStats, LocalExecutor } from "../local-executor.ts";
import { runtimeCacheSettled } from "../runtime-script.ts";
import { sdkWarmupSettled } from "../sdk-warmup.ts";
import { seedSandboxSources, type SandboxSources } from "../sdk-source.ts";
import type { Host, RunOutcome } from "../types.ts";
import { createForwardingHost, ReportedFailure, type Forwarder } from "./forwarding-host.ts";
import type { FromThread, HostCall, ThreadConfig, ToThread } from "./protocol.ts";
import { KeptTexts } from "./script-texts.ts";
import { createThreadSecrets } from "./thread-secrets.ts";

/** What a thread-host module exports (see `ThreadHostSpec`). */
export interface ThreadHostModule {
  createThreadHost?: (options: { main: Host; data: unknown }) => Host | Promise<Host>;
}

const port = parentPort;
const { config, sources, secretsGeneration, entryWatch } = workerData as {
  config: ThreadConfig;
  sources: SandboxSources;
  secretsGeneration: Int32Array;
  entryWatch: SharedArrayBuffer;
};
watchEntries(entryWatch);

let outcomes: Array<{ id: number; outcome: RunOutcome }> = [];
let calls: Array<{ call: number; request: HostCall }> = [];
let aborts: number[] = [];
let flushScheduled = false;
let lastStats = "";
// The script texts the caller sent to be kept (script-texts.ts).
const texts = new KeptTexts();

function send(message: FromThread): void {
  port?.postMessage(message);
}

function schedule(): void {
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(flush);
}

/**
 * The stats walk every isolate of this thread (a thousand apps: a thousand
 * of them), too much for every turn of a busy thread: while runs are still
 * in flight they go at most this often; a turn that leaves the thread idle
 * always sends them, so whoever awaited its runs reads what they did.
 */
const BUSY_STATS_EVERY_MS = 20;
let statsSentAt = -Infinity;

// One message per turn: every outcome and host call of the turn together.
function flush(): void {
  flushScheduled = false;
  if (outcomes.length === 0 && calls.length === 0 && aborts.length === 0) return;
  const stats = inFlight.size === 0 || performance.now() - statsSentAt >= BUSY_STATS_EVERY_MS ? changedStats() : null;
  send({ t: "batch", outcomes, calls, aborts, stats });
  outcomes = [];
  calls = [];
  aborts = [];
}

function changedStats(): ExecutorStats | null {
  statsSentAt = performance.now();
  const stats = executor.stats();
  const text = JSON.stringify(stats);
  if (text === lastStats) return null;
  lastStats = text;
  return stats;
}

const forwarder: Forwarder = {
  call(call, request) {
    calls.push({ call, request });
    schedule();
  },
  abort(call) {
    aborts.push(call);
    schedule();
  },
};
const forwarding = createForwardingHost(forwarder, config.hostHas);
// A run's repeated secret reads are answered on this thread only when the
// caller's Host announces changes (thread-secrets.ts).
const secrets = config.hostHas.watchSecrets ? createThreadSecrets(forwarding.host, secretsGeneration) : null;
const mainHost = secrets?.host ?? forwarding.host;
let executor: LocalExecutor;
const inFlight = new Set<Promise<void>>();

/** How long a closing thread waits for the code-cache warm-ups still running (they take ~0.1–0.3 s). */
const CACHE_WARMUP_WAIT_MS = 5_000;
let disposing = false;

/** Starts this thread's executor, its SDK backed by `hostModule`'s Host when there is one (bundled in, thread-bundle.ts). */
export function startThread(hostModule: ThreadHostModule | null): void {
  if (port === null) throw new Error("executor: thread-main.ts runs only as an executor thread");
  seedSandboxSources(sources);
  const early: ToThread[] = [];
  const onEarly = (message: ToThread) => early.push(message);
  port.on("message", onEarly);
  makeHost(hostModule)
    .then((host) => {
      executor = start(host);
      port.off("message", onEarly);
      port.on("message", receive);
      send({ t: "ready" });
      for (const message of early) receive(message);
    })
    // Said once, to the caller, which ends this thread, fails its runs and
    // starts another later: an unhandled rejection would end the thread
    // too, but with nothing said, and have it respawned at once.
    .catch((error: unknown) => send({ t: "fatal", error: describeError(error) }));
}

function describeError(error: unknown): { name: string; message: string; stack: string | null } {
  const e = error instanceof Error ? error : new Error(String(error));
  return { name: e.name, message: e.message, stack: e.stack ?? null };
}

async function makeHost(hostModule: ThreadHostModule | null): Promise<Host> {
  if (hostModule === null) return mainHost;
  if (typeof hostModule.createThreadHost !== "function") throw new Error("executor: the thread-host module exports no createThreadHost");
  return hostModule.createThreadHost({ main: mainHost, data: config.threadHost?.data });
}

function start(host: Host): LocalExecutor {
  return createLocalExecutor({
  ...config,
  host,
  threads: 0,
  threadHost: null,
  // A failure the caller's Host had already reported is not reported twice.
  onHostFailure: (error, info) => {
    if (error instanceof ReportedFailure) return;
    send({ t: "failure", error: describeError(error), info });
  },
  onCatastrophicError: config.catastrophic ? (message) => send({ t: "catastrophic", message }) : undefined,
  });
}

function receive(message: ToThread): void {
  if (message.t === "answers") {
    for (const { call, answer } of message.answers) forwarding.answer(call, answer);
    return;
  }
  if (message.t === "secrets") {
    secrets?.changed(message.generation, message.appId);
    return;
  }
  if (message.t === "dispose") {
    void close();
    return;
  }
  // In the order they were sent: a run's forgets and kept text depend on the runs before it.
  const runs = message.runs.map((run) => ({ id: run.id, request: texts.restore(run) }));
  const perApp = new Map<string, number>();
  for (const { request } of runs) perApp.set(request.script.appId, (perApp.get(request.script.appId) ?? 0) + 1);
  for (const n of perApp.values()) if (n > 1) executor.countBatchedStarts(n);
  for (const { id, request } of runs) {
    secrets?.begin(request.ctx);
    const done = executor.run(request).then((outcome) => {
      secrets?.end(request.ctx);
      outcomes.push({ id, outcome });
      schedule();
    });
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  }
}

// Pool changes between runs (an idle isolate disposed, a spare context
// made) reach the caller's stats within this long.
setInterval(() => {
  if (disposing || executor === undefined) return;
  const stats = changedStats();
  if (stats) send({ t: "batch", outcomes: [], calls: [], aborts: [], stats });
}, 20).unref();

async function close(): Promise<void> {
  if (disposing) return;
  disposing = true;
  executor.dispose();
  await Promise.allSettled([...inFlight]);
  // The caller terminates this thread once it hears "closed".
  await Promise.all([runtimeCacheSettled(CACHE_WARMUP_WAIT_MS), sdkWarmupSettled(CACHE_WARMUP_WAIT_MS)]);
  flush();
  send({ t: "closed", stats: executor.stats() });
}
