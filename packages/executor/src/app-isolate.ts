/**
 * One app's isolate: its compiled script versions and, per version, a small
 * pool of warm contexts. Never shared across apps; thrown away whole when a
 * run in it overruns a limit or it runs out of memory.
 */
import ivm from "isolated-vm";
import type { ActiveRun, KillReason } from "./active-run.ts";
import { CodeCache, scriptCodeCache, type WithCache } from "./code-cache.ts";
import { releaseQuietly } from "./handles.ts";
import { disposeLater, disposeNow, later } from "./later.ts";
import { entering, left, scriptOwner } from "./entry-watch.ts";
import { SandboxContext, type Enter, type SandboxConfig } from "./sandbox-context.ts";
import type { SpareIsolate } from "./spare-isolate.ts";
import { ContextRelay } from "./context-relay.ts";
import { compileLoader, compileRuntimeProperSync, makeUrlLibrary, type UrlLibraryHandles } from "./runtime-script.ts";
import { compileSdk } from "./sdk-script.ts";
import { SCRIPT_FILENAME, wrapScript } from "./sdk-source.ts";
import type { CompiledScript } from "./types.ts";

/**
 * Why an isolate was disposed: `evicted` made room for another app's,
 * `not_admitted` was a cold app's, not kept because the warm ones were used
 * more (isolate-pool.ts).
 */
export type DisposeReason = "idle" | "evicted" | "not_admitted" | "timeout" | "memory" | "runaway" | "shutdown";

/** Every reason, for counters that start at zero. */
export const DISPOSE_REASONS: readonly DisposeReason[] = ["idle", "evicted", "not_admitted", "timeout", "memory", "runaway", "shutdown"];

// Each context costs a few hundred KB of the isolate's own heap, which the
// script's memory limit also pays for; a handful of versions is plenty for
// one app (old versions fall out as new ones deploy).
const MAX_VERSIONS = 8;

/**
 * CPU time the isolate may use, in all, while no run is in it: code a run
 * left behind (a continuation of a host call answered `run_finished` at its
 * end), which no run pays for. Every entry made then shares it, counted
 * from when the last run left (`idleCpuBaseline`); past it the isolate goes
 * as a runaway. One budget, not one per entry: a run ending with 50 calls
 * unanswered makes 50 entries.
 */
export const IDLE_CPU_BUDGET_NS = 250_000_000n;

// isolated-vm's timeout is wall-clock time; the limit is CPU time. On a
// thread of our own the two match while the machine has a core free for
// it, and a synchronous entry may run this much past the CPU budget before
// it is stopped. When the machine is busier than its cores they part: the
// timeout stops a loop before it has used its CPU budget (bench:busy saw
// 5 s loops stopped after 5.03 s of wall time with their thread on a core
// about half of it, and the isolate's cpuTime reported the same 5.03 s).
// The watchdog still checks CPU time between entries.
const ENTRY_SLACK_MS = 25;

interface VersionSlot {
  /** The code this slot compiled: a same id+version with other code is a different script. */
  code: string;
  /** How its contexts enter the isolate: naming the version in the thread's entry watch, so a stuck entry blames only its runs. */
  enter: Enter;
  /** The wrapped text (`wrapScript`), compiled with the slot's first context. */
  source: string;
  /** Its key in the thread's code caches (code-cache.ts). */
  cacheKey: string;
  compiled: ivm.Script | null;
  firstLineColumnOffset: number;
  /**
   * Warm contexts of this version. For a `freshContext` script these are
   * spares that no run has used yet, made ahead so a run does not wait for
   * context creation (about 1 ms of V8 work); a used one is never put back.
   */
  idle: SandboxContext[];
  /** The version's runs each get a new context (`freshContext`). */
  fresh: boolean;
  /** A spare is being made for a `freshContext` script. */
  preparing?: boolean;
  /** Its code cache was taken, or is about to be, from this isolate. */
  cacheTaken?: boolean;
  /** A run of this version used the web runtime: its spares are made with the runtime evaluated, and these globals made. */
  runtimeNames?: Set<string>;
  /** Its contexts on their way back from runs that answered, and the runs waiting for one (context-relay.ts). */
  relay: ContextRelay<SandboxContext>;
}

/** A context for one run, and the column of the author's code on line 1 (for stack traces). */
export interface AcquiredContext {
  context: SandboxContext;
  firstLineColumnOffset: number;
}

/** What an app isolate is made with. */
export interface AppIsolateOptions {
  appId: string;
  memoryMb: number;
  sandbox: SandboxConfig;
  contextsPerVersion: number;
  onCatastrophicError: ((message: string) => void) | undefined;
  /** Told once, when the isolate is disposed for any reason. */
  onDisposed: (app: AppIsolate, reason: DisposeReason) => void;
  /** A blank isolate made ahead with `memoryMb`, used instead of a new one (spare-isolate.ts). */
  spare?: SpareIsolate;
}

/** One app's isolate with its script versions and warm contexts; see the file comment. */
export class AppIsolate {
  readonly isolate: ivm.Isolate;
  /** Runs in flight in this isolate. */
  readonly active = new Set<ActiveRun>();
  /** `performance.now()` of the last run's end (or the isolate's creation). */
  lastUsed = performance.now();
  /** CPU time when the last run left the isolate (null while one is in it): code running after that belongs to no run. */
  idleCpuBaseline: bigint | null = null;
  disposeReason: DisposeReason | null = null;
  /** What the isolate holds, as last measured (`measure`). */
  bytes = 0;
  /** `performance.now()` of that measurement; null before the first. */
  measuredAt: number | null = null;
  private readonly versions = new Map<string, VersionSlot>();
  /** The slot each context was made for (a slot replaced meanwhile included). */
  private readonly slotOfContext = new WeakMap<SandboxContext, VersionSlot>();
  /** Contexts handed to runs waiting for them (contextComingBack) that have not taken them yet. */
  private handing = 0;
  private liveContexts = 0;
  /** The web runtime's loader compiled in this isolate, shared by all its contexts; made with the first context. */
  private loader: ivm.Script | null;
  /** The SDK bootstrap compiled in this isolate, shared by all its contexts; made with the first context. */
  private sdk: ivm.Script | null;
  /** The spare's context, with the loader run in it: the first context made takes it. */
  private contextWithLoader: ivm.Context | null;
  /** The runtime proper compiled in this isolate (code only), made when a context first needs it. */
  private runtimeProper: ivm.Script | null = null;
  private readonly compileRuntimeProper = (): ivm.Script => {
    this.runtimeProper ??= compileRuntimeProperSync(this.isolate);
    return this.runtimeProper;
  };
  /**
   * The isolate's URL library (runtime/url-library.ts); null when making it
   * failed, undefined before. Made between runs once a `freshContext`
   * version's context parses a URL: such a context is new on every run,
   * and without the library each one pays for whatwg-url again (evaluated,
   * then run cold). A context kept warm has no need of it; and making it
   * costs ~4 ms of V8 work, which an app's cold first run does not wait for.
   */
  private urlLibraryHandles: UrlLibraryHandles | null | undefined = undefined;
  private urlLibraryQueued = false;

  /** What a context of `slot` parses URLs with: the library, or null (its own copy). */
  private urlLibraryFor(slot: VersionSlot): ivm.Reference<unknown> | null {
    if (this.urlLibraryHandles === undefined && slot.fresh) this.makeUrlLibraryLater();
    return this.urlLibraryHandles?.library ?? null;
  }

  private makeUrlLibraryLater(): void {
    if (this.urlLibraryQueued || this.disposed) return;
    this.urlLibraryQueued = true;
    later(() => {
      this.urlLibraryQueued = false;
      // Only while no run is in the isolate: an entry made now would be charged to the runs in it. A later request asks again.
      if (this.disposed || this.urlLibraryHandles !== undefined || this.active.size > 0) return;
      this.urlLibraryHandles = makeUrlLibrary(this.isolate, this.compileRuntimeProper());
    });
  }

  constructor(readonly options: AppIsolateOptions) {
    const { spare } = options;
    this.isolate = spare?.isolate ?? newIsolate(options.memoryMb, options.onCatastrophicError);
    this.loader = spare?.loader ?? null;
    this.sdk = spare?.sdk ?? null;
    this.contextWithLoader = spare?.context ?? null;
  }

  /**
   * Measures what the isolate holds now: the pages of its heap in memory
   * and what it allocated outside the heap (array buffers). The heap's used
   * bytes would miss about a third of what an idle isolate adds to the
   * process (measured: 1,176 KB of RSS each for 300 isolates after a no-op
   * run; used heap and external 842 KB, heap pages and external 1,050 KB).
   * V8's `malloced_memory` is left out: on an executor thread it reported
   * 7-9 MB for a blank isolate, the thread's compiles included.
   * About 15 µs; answers the bytes, 0 once the isolate is gone.
   */
  measure(now = performance.now()): number {
    this.measuredAt = now;
    this.bytes = heapBytes(this.isolate);
    return this.bytes;
  }

  /**
   * Calls into the isolate synchronously, under the tightest limit of the
   * runs in it: the least CPU time left of any run (each is charged the
   * isolate's whole time while in flight, active-run.ts) or the least wall
   * time. An entry that overruns is stopped by isolated-vm's timeout; its
   * runs end (the one whose limit it was by that limit, the others as
   * collateral) and the isolate goes. With no run in it, the entry gets
   * what is left of the idle budget (`IDLE_CPU_BUDGET_NS`), and the isolate
   * goes as a runaway once that is spent. `owner` is what the thread's
   * entry watch shows meanwhile (entry-watch.ts `scriptOwner`). Answers
   * whether the call went in.
   */
  readonly enter = (ref: ivm.Reference<unknown>, args: unknown[], owner: string): boolean => {
    if (this.disposed) {
      if (this.disposeReason === null) this.dispose("memory");
      return false;
    }
    const now = performance.now();
    // Replaced by the first run's limit below when a run is in the isolate.
    let timeout = this.active.size === 0 ? this.idleCpuLeftMs() : Infinity;
    if (timeout <= 0) {
      this.dispose("runaway");
      return false;
    }
    let bound: ActiveRun | null = null;
    let boundBy: KillReason = "cpu";
    for (const run of this.active) {
      const cpuLeft = run.cpuLeftMs() + ENTRY_SLACK_MS;
      const wallLeft = run.wallLeftMs(now);
      if (bound === null || cpuLeft < timeout) [timeout, bound, boundBy] = [cpuLeft, run, "cpu"];
      if (wallLeft < timeout) [timeout, bound, boundBy] = [wallLeft, run, "wall"];
    }
    const timeoutMs = Math.max(1, Math.ceil(timeout));
    entering(owner, timeoutMs);
    try {
      ref.applySync(undefined, args, { timeout: timeoutMs });
      return true;
    } catch {
      // The entries never throw on their own (the bootstrap catches what a
      // script throws): the isolate went at its memory limit, or the call
      // was stopped at its timeout.
      if (this.isolate.isDisposed) {
        this.dispose("memory");
        return false;
      }
      if (bound === null) {
        this.dispose("runaway");
        return false;
      }
      const at = performance.now();
      for (const run of this.active) run.kill(run.overrun(at) ?? (run === bound ? boundBy : "collateral"));
      this.dispose("timeout");
      return false;
    } finally {
      left();
    }
  };

  /** A run starts in this isolate: from now its CPU time is charged to the runs in it. */
  join(run: ActiveRun): void {
    this.active.add(run);
    this.idleCpuBaseline = null;
  }

  /**
   * A run leaves (its handler answered, or it ended): once none is left,
   * what runs from here on belongs to no run and spends the idle budget.
   */
  leave(run: ActiveRun): void {
    if (this.active.delete(run) && this.active.size === 0) this.idleCpuBaseline = this.cpuTime();
  }

  /** What is left of the idle budget, in ms (0 or less once spent); see `IDLE_CPU_BUDGET_NS`. */
  idleCpuLeftMs(): number {
    const cpu = this.cpuTime();
    if (cpu === null) return 0;
    this.idleCpuBaseline ??= cpu;
    return Number(IDLE_CPU_BUDGET_NS - (cpu - this.idleCpuBaseline)) / 1e6;
  }

  get appId(): string {
    return this.options.appId;
  }

  /**
   * Runs are in the isolate, or a context of it is on its way to a run
   * that waited for it (that run joins a few microtasks later): either way
   * the pool must not take it for idle.
   */
  get busy(): boolean {
    return this.active.size > 0 || this.handing > 0;
  }

  /** Disposed by us, or by isolated-vm itself (memory limit). */
  get disposed(): boolean {
    return this.disposeReason !== null || this.isolate.isDisposed;
  }

  get contexts(): number {
    return this.liveContexts;
  }

  get idleContexts(): number {
    let n = 0;
    for (const slot of this.versions.values()) n += slot.idle.length;
    return n;
  }

  /** The isolate's CPU time in ns, or null once it is disposed. */
  cpuTime(): bigint | null {
    try {
      return this.isolate.isDisposed ? null : this.isolate.cpuTime;
    } catch {
      return null;
    }
  }

  /**
   * A context for one run of `script`: a warm idle one of the same version
   * when the script reuses contexts, else a new one. Also answers the column
   * offset of the author's code on line 1, for mapping stack traces.
   */
  acquire(script: CompiledScript): AcquiredContext {
    const slot = this.slotFor(script);
    const idle = slot.idle.pop();
    if (script.freshContext) this.prepareSpare(script, slot);
    if (idle) return { context: idle, firstLineColumnOffset: slot.firstLineColumnOffset };
    return { context: this.createContext(slot), firstLineColumnOffset: slot.firstLineColumnOffset };
  }

  /**
   * When a run of `script` would find no idle context while one of its
   * version is on its way back from a run that answered (context-relay.ts):
   * a promise of that context, or of null when none comes (make one); else
   * null at once.
   */
  contextComingBack(script: CompiledScript): Promise<SandboxContext | null> | null {
    const slot = this.versions.get(versionKey(script));
    if (!slot || slot.code !== script.code || slot.fresh || slot.idle.length > 0 || !slot.relay.comingBack) return null;
    return slot.relay.wait();
  }

  /** A context handed over by `contextComingBack`, for the run that waited for it. */
  takeHanded(context: SandboxContext): AcquiredContext {
    this.handing = Math.max(0, this.handing - 1);
    return { context, firstLineColumnOffset: this.slotOfContext.get(context)?.firstLineColumnOffset ?? 0 };
  }

  /** The handler of the run in `context` answered: its context comes back when the run's bookkeeping is done. */
  answered(context: SandboxContext): void {
    this.slotOfContext.get(context)?.relay.answered(context);
  }

  /** The run in `context` was entered; `answered`: within the entry (else the context is busy until the host answers). */
  entered(context: SandboxContext, answered: boolean): void {
    this.slotOfContext.get(context)?.relay.entered(context, answered);
  }

  private createContext(slot: VersionSlot): SandboxContext {
    this.loader ??= compileLoader(this.isolate);
    this.sdk ??= compileSdk(this.isolate);
    slot.compiled ??= this.compileVersion(slot);
    const withLoader = this.contextWithLoader ?? undefined;
    this.contextWithLoader = null;
    const context = SandboxContext.create(this.isolate, { loader: this.loader, sdk: this.sdk, script: slot.compiled, runtimeProper: this.compileRuntimeProper, urlLibrary: () => this.urlLibraryFor(slot) }, this.options.sandbox, slot.enter, withLoader);
    this.slotOfContext.set(context, slot);
    if (!this.disposed) this.liveContexts++;
    return context;
  }

  /**
   * Makes one unused context ahead for the next run of a `freshContext`
   * script, on a later turn of the thread's loop: not in the way of the
   * run that asked, nor of the runs handed over with it.
   */
  private prepareSpare(script: CompiledScript, slot: VersionSlot): void {
    if (slot.preparing || slot.idle.length > 0 || this.disposed) return;
    slot.preparing = true;
    later(() => {
      slot.preparing = false;
      if (this.disposed || this.versions.get(versionKey(script)) !== slot || slot.idle.length > 0) return;
      try {
        const context = this.createContext(slot);
        // Only while no run is in the isolate: an entry made now would be
        // charged to the runs in it, and stopped at their limits. Such a
        // context is made plain, as before, and loads on first touch.
        if (slot.runtimeNames !== undefined && this.active.size === 0 && !context.prepare(slot.runtimeNames)) {
          this.giveBack(script, context, false);
          return;
        }
        slot.idle.push(context);
      } catch {
        // The run that needs a context makes its own and reports any error.
      }
    });
  }

  /** The version's script, from the thread's code cache when it has one (code-cache.ts). */
  private compileVersion(slot: VersionSlot): ivm.Script {
    const cachedData = scriptCodeCache.get(slot.cacheKey);
    if (cachedData) {
      const script: WithCache = this.isolate.compileScriptSync(slot.source, { filename: SCRIPT_FILENAME, cachedData });
      if (script.cachedDataRejected !== true) return script;
      scriptCodeCache.delete(slot.cacheKey);
      script.release();
    }
    return this.isolate.compileScriptSync(slot.source, { filename: SCRIPT_FILENAME });
  }

  /**
   * After a version's first run in this isolate, and when the thread has no
   * cache of it yet, takes one between runs: compiled again, V8 answers from
   * the isolate's own compilation cache with the functions the run compiled.
   */
  private takeCodeCache(slot: VersionSlot): void {
    if (slot.cacheTaken || scriptCodeCache.has(slot.cacheKey)) return;
    slot.cacheTaken = true;
    later(() => {
      if (this.disposed || scriptCodeCache.has(slot.cacheKey)) return;
      try {
        const again: WithCache = this.isolate.compileScriptSync(slot.source, { filename: SCRIPT_FILENAME, produceCachedData: true });
        if (again.cachedData) scriptCodeCache.set(slot.cacheKey, again.cachedData);
        again.release();
      } catch {
        // The isolate went meanwhile; the next cold run of the version takes it.
      }
    });
  }

  /** Takes a context back after a run: kept warm when `reusable` and there is room, else freed. */
  giveBack(script: CompiledScript, context: SandboxContext, reusable: boolean): void {
    context.current = null;
    const slot = this.versions.get(versionKey(script));
    if (slot?.code === script.code && !context.broken) {
      this.takeCodeCache(slot);
      // Only a freshContext version's spares are made with these names
      // (prepareSpare); a reused context's every run would copy them for nothing.
      if (script.freshContext && context.usedRuntime) {
        slot.runtimeNames ??= new Set();
        // Runtime names only (sandbox-context.ts keeps no others): 30 at most.
        for (const name of context.touched) slot.runtimeNames.add(name);
      }
    }
    const relay = this.slotOfContext.get(context)?.relay;
    const serves = reusable && !script.freshContext && !context.broken && !this.disposed && slot?.code === script.code;
    // A run waiting for it (contextComingBack) takes it; else it is kept warm when there is room.
    if (serves && relay?.handOver(context)) {
      this.handing++;
      return;
    }
    if (serves && slot.idle.length < this.options.contextsPerVersion) {
      slot.idle.push(context);
      return;
    }
    relay?.gone(context);
    context.release();
    // After dispose() the count was reset with everything else.
    if (!this.disposed) this.liveContexts--;
  }

  /** Disposes the isolate; runs still in it end with a reason derived from `reason`. */
  dispose(reason: DisposeReason): void {
    if (this.disposeReason !== null) return;
    this.disposeReason = reason;
    const runReason: KillReason = reason === "memory" ? "memory" : reason === "shutdown" ? "shutdown" : "collateral";
    for (const run of this.active) run.kill(runReason);
    for (const slot of this.versions.values()) slot.relay.wakeAll();
    this.versions.clear();
    this.liveContexts = 0;
    releaseQuietly(this.urlLibraryHandles?.library, this.urlLibraryHandles?.context);
    this.urlLibraryHandles = null;
    // With no run in it nobody waits for the isolate to go: V8's work is
    // done between runs. A run in it ends now, and so must its code.
    if (this.active.size === 0 && reason !== "shutdown") disposeLater(this.isolate);
    else disposeNow(this.isolate);
    this.options.onDisposed(this, reason);
  }

  private slotFor(script: CompiledScript): VersionSlot {
    const key = versionKey(script);
    const existing = this.versions.get(key);
    if (existing && existing.code === script.code) {
      // Re-inserted: Map order is least recently used first.
      this.versions.delete(key);
      this.versions.set(key, existing);
      return existing;
    }
    if (existing) this.dropSlot(key, existing);
    const wrapped = wrapScript(script.code);
    // Compiled with its first context: a compile error reaches that run.
    const owner = scriptOwner(this.appId, key);
    const enter: Enter = (ref, args) => this.enter(ref, args, owner);
    const slot: VersionSlot = { code: script.code, enter, fresh: script.freshContext === true, source: wrapped.source, cacheKey: CodeCache.keyOf(wrapped.source), compiled: null, firstLineColumnOffset: wrapped.firstLineColumnOffset, idle: [], relay: new ContextRelay() };
    this.versions.set(key, slot);
    for (const [oldKey, old] of this.versions) {
      if (this.versions.size <= MAX_VERSIONS) break;
      this.dropSlot(oldKey, old);
    }
    return slot;
  }

  private dropSlot(key: string, slot: VersionSlot): void {
    this.versions.delete(key);
    // Runs waiting for one of its contexts make theirs in the version's new slot.
    slot.relay.wakeAll();
    for (const context of slot.idle.splice(0)) {
      context.release();
      this.liveContexts--;
    }
    // Contexts of this version still running are freed when given back.
    releaseQuietly(slot.compiled);
  }
}

/** What `isolate` holds (see `AppIsolate.measure`); 0 once it is gone. */
export function heapBytes(isolate: ivm.Isolate): number {
  try {
    const heap = isolate.getHeapStatisticsSync();
    return heap.total_physical_size + heap.externally_allocated_size;
  } catch {
    return 0;
  }
}

/** A new isolate with `memoryMb` as its limit (isolated-vm's), the spare the pool keeps ahead included. */
export function newIsolate(memoryLimit: number, onCatastrophicError: ((message: string) => void) | undefined): ivm.Isolate {
  return new ivm.Isolate(onCatastrophicError ? { memoryLimit, onCatastrophicError } : { memoryLimit });
}

/** A script version's key: its slot's here, and its entries' owner in the entry watch. */
export function versionKey(script: Pick<CompiledScript, "id" | "version">): string {
  return `${script.id}@${script.version}`;
}
