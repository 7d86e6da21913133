/**
 * One app's isolate: its compiled script versions and, per version, a small
 * pool of warm contexts. Never shared across apps; thrown away whole when a
 * run in it overruns a limit or it runs out of memory.
 */
import ivm from "isolated-vm";
import type { ActiveRun, KillReason } from "./active-run.ts";
import { releaseQuietly } from "./handles.ts";
import { Launcher } from "./launcher.ts";
import { SandboxContext, type SandboxConfig } from "./sandbox-context.ts";
import { compileLoader, compileRuntimeProperSync } from "./runtime-script.ts";
import { SCRIPT_FILENAME, wrapScript } from "./sdk-source.ts";
import type { CompiledScript } from "./types.ts";

/** Why an isolate was disposed. */
export type DisposeReason = "idle" | "evicted" | "timeout" | "memory" | "runaway" | "shutdown";

// Each context costs a few hundred KB of the isolate's own heap, which the
// script's memory limit also pays for; a handful of versions is plenty for
// one app (old versions fall out as new ones deploy).
const MAX_VERSIONS = 8;

interface VersionSlot {
  /** The code this slot compiled: a same id+version with other code is a different script. */
  code: string;
  compiled: Promise<ivm.Script>;
  firstLineColumnOffset: number;
  /**
   * Warm contexts of this version. For a `freshContext` script these are
   * spares that no run has used yet, made ahead so a run does not wait for
   * context creation (about 1 ms of V8 work); a used one is never put back.
   */
  idle: SandboxContext[];
  /** A spare is being made for a `freshContext` script. */
  preparing?: boolean;
}

/** What an app isolate is made with. */
export interface AppIsolateOptions {
  appId: string;
  memoryMb: number;
  sandbox: SandboxConfig;
  contextsPerVersion: number;
  onCatastrophicError: ((message: string) => void) | undefined;
  /** Told how many runs were started together in one call into the isolate (see launcher.ts). */
  onBatchedStarts: (runs: number) => void;
  /** Told once, when the isolate is disposed for any reason. */
  onDisposed: (app: AppIsolate, reason: DisposeReason) => void;
}

/** One app's isolate with its script versions and warm contexts; see the file comment. */
export class AppIsolate {
  readonly isolate: ivm.Isolate;
  /** Runs in flight in this isolate. */
  readonly active = new Set<ActiveRun>();
  /** `performance.now()` of the last run's end (or the isolate's creation). */
  lastUsed = performance.now();
  /** CPU time when the isolate last went idle: code running after that belongs to no run. */
  idleCpuBaseline: bigint | null = null;
  disposeReason: DisposeReason | null = null;
  private readonly versions = new Map<string, VersionSlot>();
  private readonly launcher: Launcher;
  private liveContexts = 0;
  /** The web runtime's loader compiled in this isolate, shared by all its contexts; made with the first context. */
  private loader: Promise<ivm.Script> | null = null;
  /** The runtime proper compiled in this isolate (code only), made when a context first needs it. */
  private runtimeProper: ivm.Script | null = null;
  private readonly compileRuntimeProper = (): ivm.Script => {
    this.runtimeProper ??= compileRuntimeProperSync(this.isolate);
    return this.runtimeProper;
  };

  constructor(readonly options: AppIsolateOptions) {
    const { memoryMb: memoryLimit, onCatastrophicError } = options;
    this.isolate = new ivm.Isolate(onCatastrophicError ? { memoryLimit, onCatastrophicError } : { memoryLimit });
    this.launcher = new Launcher(this.isolate, options.onBatchedStarts);
  }

  get appId(): string {
    return this.options.appId;
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
  async acquire(script: CompiledScript): Promise<{ context: SandboxContext; firstLineColumnOffset: number }> {
    const slot = this.slotFor(script);
    const idle = slot.idle.pop();
    if (script.freshContext) this.prepareSpare(script, slot);
    if (idle) return { context: idle, firstLineColumnOffset: slot.firstLineColumnOffset };
    const context = await this.createContext(slot);
    return { context, firstLineColumnOffset: slot.firstLineColumnOffset };
  }

  private async createContext(slot: VersionSlot): Promise<SandboxContext> {
    if (this.loader === null) {
      this.loader = compileLoader(this.isolate);
      // A failure reaches every run that awaits it.
      this.loader.catch(() => {});
    }
    const [loader, script] = await Promise.all([this.loader, slot.compiled]);
    const context = await SandboxContext.create(this.isolate, { loader, script, runtimeProper: this.compileRuntimeProper }, this.options.sandbox, this.launcher);
    if (!this.disposed) this.liveContexts++;
    return context;
  }

  /** Makes one unused context ahead for the next run of a `freshContext` script. */
  private prepareSpare(script: CompiledScript, slot: VersionSlot): void {
    if (slot.preparing || slot.idle.length > 0 || this.disposed) return;
    slot.preparing = true;
    this.createContext(slot).then(
      (context) => {
        slot.preparing = false;
        if (this.disposed || this.versions.get(versionKey(script)) !== slot) {
          if (!this.disposed) this.liveContexts--;
          releaseQuietly(context);
          return;
        }
        slot.idle.push(context);
      },
      () => {
        // The run that needs a context makes its own and reports any error.
        slot.preparing = false;
      },
    );
  }

  /** Takes a context back after a run: kept warm when `reusable` and there is room, else freed. */
  giveBack(script: CompiledScript, context: SandboxContext, reusable: boolean): void {
    context.current = null;
    const slot = this.versions.get(versionKey(script));
    const keep =
      reusable && !script.freshContext && !context.broken && !this.disposed && slot?.code === script.code && slot.idle.length < this.options.contextsPerVersion;
    if (keep) {
      slot.idle.push(context);
      return;
    }
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
    this.versions.clear();
    this.liveContexts = 0;
    this.launcher.release();
    if (!this.isolate.isDisposed) {
      try {
        this.isolate.dispose();
      } catch {
        // isolated-vm disposed it between the check and the call (memory limit).
      }
    }
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
    const compiled = this.isolate.compileScript(wrapped.source, { filename: SCRIPT_FILENAME });
    // A compile error is reported to every run that awaits it; this keeps it
    // from also counting as unhandled when no run is waiting.
    compiled.catch(() => {});
    const slot: VersionSlot = { code: script.code, compiled, firstLineColumnOffset: wrapped.firstLineColumnOffset, idle: [] };
    this.versions.set(key, slot);
    for (const [oldKey, old] of this.versions) {
      if (this.versions.size <= MAX_VERSIONS) break;
      this.dropSlot(oldKey, old);
    }
    return slot;
  }

  private dropSlot(key: string, slot: VersionSlot): void {
    this.versions.delete(key);
    for (const context of slot.idle.splice(0)) {
      context.release();
      this.liveContexts--;
    }
    // Contexts of this version still running are freed when given back.
    slot.compiled.then(
      (compiled) => releaseQuietly(compiled),
      // Its compile error already reached the runs that awaited it.
      () => {},
    );
  }
}

function versionKey(script: CompiledScript): string {
  return `${script.id}@${script.version}`;
}
