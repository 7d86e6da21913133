/**
 * The executor's options, their defaults, and how a script's limits are
 * resolved against the operator's.
 */
import type { Host, RunContext, ScriptLimits } from "./types.ts";

/**
 * A Host made on each executor thread, for the calls worth answering there
 * (a secret read from a cache): `module` exports
 * `createThreadHost({ main, data }): Host`, where `main` forwards each call
 * to the executor's `host` on the creating thread, and `data` is `data`
 * below (anything structured clone can copy).
 *
 * @example
 * createExecutor({ host, threadHost: { module: new URL("./thread-host.ts", import.meta.url).href, data: { key } } });
 */
export interface ThreadHostSpec {
  /** A module URL (file: URL of a .ts or .js module). */
  module: string;
  data?: unknown;
}

/** How `createExecutor` is configured; only `host` is required. */
export interface ExecutorOptions {
  /** Backs the SDK: secrets, email. Called on the thread that made the executor. */
  host: Host;
  /**
   * Executor threads: each owns the isolates of a stable share of the apps,
   * enters them synchronously and serves their SDK calls from its own event
   * loop, so a script that loops stalls its own thread only. 0 (the
   * default) runs the isolates on the calling thread, entered the same way:
   * a script's loop then holds the caller's event loop for up to its CPU
   * limit, which suits a test harness, not a service (the server starts
   * one thread per core, SWITCHYARD_EXECUTOR_THREADS).
   */
  threads?: number;
  /** Answers SDK calls on the executor threads themselves; without it every call goes to `host`. */
  threadHost?: ThreadHostSpec;
  /**
   * Memory the warm isolates may hold, in MB, all threads together (each
   * thread keeps its share): the pool's main bound. An isolate is charged
   * what its heap measures after its runs, not its memory limit.
   * Default 384.
   */
  isolateMemoryMb?: number;
  /** Most warm isolates kept (one per app and memory size), shared out between the threads; an extra cap besides memory. Default none. */
  poolSize?: number;
  /** An isolate with no run for this long is disposed. Default 60_000 ms. */
  idleMs?: number;
  /** Limits for a script that sets none (or sets nonsense). Default 64 MB, 5_000 ms CPU, 30_000 ms wall. */
  defaultLimits?: Partial<ScriptLimits>;
  /** The operator's caps; a script's limits are clamped to them. Default 256 MB, 30_000 ms CPU, 300_000 ms wall. */
  maxLimits?: Partial<ScriptLimits>;
  /** Bytes of log text kept per run (UTF-8, after masking); the rest is dropped and `logsTruncated` set. Default 64 KiB. */
  logMaxBytes?: number;
  /**
   * Bytes of result JSON kept per run. A bigger result is not stored: the run
   * still succeeds (its side effects happened) with `result: null` and
   * `resultTruncated: true`. Default 256 KiB.
   */
  resultMaxBytes?: number;
  /** Idle contexts kept per script version, for runs that reuse contexts. Default 4. */
  contextsPerVersion?: number;
  /** How often CPU time and deadlines of running scripts are checked. Default 5 ms. */
  watchIntervalMs?: number;
  /** `fetch` calls one run may make; the next is refused with `egress_limit` without reaching the host. Default 50. */
  maxSubrequests?: number;
  /** Longest one `fetch` may take (never past the run's wall clock), then `egress_timeout`. Default 30_000 ms. */
  fetchTimeoutMs?: number;
  /**
   * Called when a Host method fails with something other than a `HostError`
   * (a bug or an outage). The script sees only `internal_error`; this is
   * where the real error goes, e.g. to the service's logger.
   */
  onHostFailure?: (error: unknown, info: { op: string; ctx: RunContext }) => void;
  /**
   * Called by isolated-vm when V8 has lost control of an isolate: log it,
   * stop taking work and end the process. Without it isolated-vm aborts.
   */
  onCatastrophicError?: (message: string) => void;
}

/** Options with every default filled in. */
export interface ResolvedOptions {
  host: Host;
  threads: number;
  threadHost: ThreadHostSpec | null;
  isolateMemoryMb: number;
  /** Infinity when no count is set. */
  poolSize: number;
  idleMs: number;
  defaultLimits: ScriptLimits;
  maxLimits: ScriptLimits;
  logMaxBytes: number;
  resultMaxBytes: number;
  contextsPerVersion: number;
  watchIntervalMs: number;
  maxSubrequests: number;
  fetchTimeoutMs: number;
  onHostFailure: (error: unknown, info: { op: string; ctx: RunContext }) => void;
  onCatastrophicError: ((message: string) => void) | undefined;
}

/** Limits of a script that sets none. */
export const DEFAULT_LIMITS: ScriptLimits = { memoryMb: 64, cpuMs: 5_000, wallMs: 30_000 };
/** The operator's caps when none are given. */
export const DEFAULT_MAX_LIMITS: ScriptLimits = { memoryMb: 256, cpuMs: 30_000, wallMs: 300_000 };

/** Memory warm isolates may hold by default, in MB, process-wide. */
export const DEFAULT_ISOLATE_MEMORY_MB = 384;

/** isolated-vm refuses a `memoryLimit` below 8 MB. */
export const MIN_MEMORY_MB = 8;

/** Fills in every default; nonsense numbers (zero, negative, NaN) fall back to the default too. */
export function resolveOptions(options: ExecutorOptions): ResolvedOptions {
  const maxLimits = mergeLimits(DEFAULT_MAX_LIMITS, options.maxLimits);
  return {
    host: options.host,
    threads: nonNegativeInt(options.threads, 0),
    threadHost: options.threadHost ?? null,
    isolateMemoryMb: positiveInt(options.isolateMemoryMb, DEFAULT_ISOLATE_MEMORY_MB),
    poolSize: positiveInt(options.poolSize, Infinity),
    idleMs: positiveInt(options.idleMs, 60_000),
    // Defaults above the caps would make every default run a clamped one.
    defaultLimits: clampLimits(mergeLimits(DEFAULT_LIMITS, options.defaultLimits), maxLimits),
    maxLimits,
    logMaxBytes: positiveInt(options.logMaxBytes, 64 * 1024),
    resultMaxBytes: positiveInt(options.resultMaxBytes, 256 * 1024),
    contextsPerVersion: positiveInt(options.contextsPerVersion, 4),
    watchIntervalMs: positiveInt(options.watchIntervalMs, 5),
    maxSubrequests: nonNegativeInt(options.maxSubrequests, 50),
    fetchTimeoutMs: positiveInt(options.fetchTimeoutMs, 30_000),
    onHostFailure: options.onHostFailure ?? (() => {}),
    onCatastrophicError: options.onCatastrophicError,
  };
}

/**
 * The limits a run gets: the script's own where they are positive numbers,
 * the defaults elsewhere, each clamped to the operator's maximum.
 *
 * @example
 * effectiveLimits({ memoryMb: 512, cpuMs: 0, wallMs: 1_000 }, DEFAULT_LIMITS, DEFAULT_MAX_LIMITS);
 * // { memoryMb: 256, cpuMs: 5_000, wallMs: 1_000 }
 */
export function effectiveLimits(requested: Partial<ScriptLimits> | null | undefined, defaults: ScriptLimits, max: ScriptLimits): ScriptLimits {
  return clampLimits(mergeLimits(defaults, requested), max);
}

function mergeLimits(base: ScriptLimits, over: Partial<ScriptLimits> | null | undefined): ScriptLimits {
  return {
    memoryMb: positiveInt(over?.memoryMb, base.memoryMb),
    cpuMs: positiveInt(over?.cpuMs, base.cpuMs),
    wallMs: positiveInt(over?.wallMs, base.wallMs),
  };
}

function clampLimits(limits: ScriptLimits, max: ScriptLimits): ScriptLimits {
  return {
    memoryMb: Math.max(MIN_MEMORY_MB, Math.min(limits.memoryMb, max.memoryMb)),
    cpuMs: Math.min(limits.cpuMs, max.cpuMs),
    wallMs: Math.min(limits.wallMs, max.wallMs),
  };
}

// Zero is meaningful for a count: a run that may make no subrequest.
function nonNegativeInt(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? Math.floor(value) : fallback;
}

function positiveInt(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 1 ? Math.floor(value) : fallback;
}
