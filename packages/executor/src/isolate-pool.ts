/**
 * Warm isolates, one per (app, memory limit), bounded by the memory they
 * hold (and by a count, when one is set). An isolate is handed out only for
 * its own app; idle ones are disposed after `idleMs`.
 *
 * Which isolates stay warm (W-TinyLFU's shape, with exact counts): a cold
 * app's isolate runs at once, and when its runs end it is kept warm if there
 * is room. Else it waits in a small window of recently made isolates (a
 * sixteenth of the memory, and of the count when one is set, at least one
 * place; the warm ones get the rest), and when newer ones push it out of the
 * window it is kept only if its app was used more often lately than each
 * warm isolate that would have to go for it (least recently used first;
 * use-counts.ts), or else disposed, `not_admitted`. Plain LRU keeps nothing
 * when apps take turns, more of them than fit: each cold app pushes out the
 * one whose turn comes next (measured: 0 hits for 256 apps over 64
 * isolates). Here the warm ones stay, and a share about the pool's size over
 * the number of apps hits (isolate-pool.test.ts). The window is what lets a
 * batch of one app's runs pay its cold start once: without it, an app not
 * admitted lost its isolate whenever its runs paused between two of the
 * batch (measured: 2.5 cold starts an app draining 20 runs each of 1,000
 * apps, the dispatcher claiming them in one turn).
 *
 * An app's first run takes the spare: a blank isolate made ahead, between
 * runs, with the scripts' default memory limit, so that run does not wait
 * the ~2 ms V8 takes to make one and its first context (spare-isolate.ts).
 */
import { AppIsolate, DISPOSE_REASONS, heapBytes, type DisposeReason } from "./app-isolate.ts";
import { later } from "./later.ts";
import type { SandboxConfig, SandboxContext } from "./sandbox-context.ts";
import { makeSpare, type SpareIsolate } from "./spare-isolate.ts";
import { UseCounts } from "./use-counts.ts";
import type { CompiledScript } from "./types.ts";

const SWEEP_EVERY_MS = 1_000;

// A warm isolate is measured again on its way out of a run at most this
// often: its heap changes slowly, and a measurement costs ~15 µs.
const MEASURE_EVERY_MS = 1_000;

// The window of recently made isolates holds this share of the memory.
const WINDOW_SHARE = 1 / 16;

// Use counts halve after this many uses per warm isolate: long enough that
// an app used in every round of a turn-taking load keeps its count.
const USES_PER_HALVING = 10;

/** The pool's bounds and what each isolate is made with. */
export interface IsolatePoolOptions {
  /** Bytes the warm isolates and the spare may hold together. */
  memoryBytes: number;
  /** Most isolates kept, warm ones and the window's together; Infinity when only memory bounds them. */
  poolSize: number;
  idleMs: number;
  /** The memory limit most scripts run with: the spare is made with it. */
  spareMemoryMb: number;
  sandbox: SandboxConfig;
  contextsPerVersion: number;
  onCatastrophicError: ((message: string) => void) | undefined;
}

/** Counts since the pool was made. */
export interface PoolCounters {
  /** App isolates made: each a cold start, its app's run found no warm isolate. */
  created: number;
  /** Of those, how many took the spare. */
  fromSpare: number;
  disposed: Record<DisposeReason, number>;
}

/** The memory-bounded pool of app isolates; see the file comment. */
export class IsolatePool {
  readonly counters: PoolCounters = {
    created: 0,
    fromSpare: 0,
    disposed: Object.fromEntries(DISPOSE_REASONS.map((reason) => [reason, 0])) as Record<DisposeReason, number>,
  };
  // Map order is the LRU order: least recently used first.
  private readonly warm = new Map<string, AppIsolate>();
  /** Cold apps' isolates with runs in them, not placed yet (made for a run, or taken back out of the window). */
  private readonly cold = new Map<string, AppIsolate>();
  /** Idle isolates not admitted yet, oldest first (see the file comment). */
  private readonly window = new Map<string, AppIsolate>();
  private readonly uses = new UseCounts(() => Math.max(64, this.warm.size) * USES_PER_HALVING);
  private warmBytes = 0;
  private windowBytes = 0;
  /** The window's share of the bounds (see the file comment), and what that leaves the warm ones. */
  private readonly windowMaxBytes: number;
  private readonly windowMaxCount: number;
  private readonly warmMaxCount: number;
  private spare: { spare: SpareIsolate; bytes: number } | null = null;
  private spareComing = false;
  private closed = false;
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(private readonly options: IsolatePoolOptions) {
    this.windowMaxBytes = options.memoryBytes * WINDOW_SHARE;
    const counted = Number.isFinite(options.poolSize);
    this.windowMaxCount = counted ? Math.max(1, Math.floor(options.poolSize * WINDOW_SHARE)) : Infinity;
    this.warmMaxCount = counted ? Math.max(0, options.poolSize - this.windowMaxCount) : Infinity;
    this.sweeper = setInterval(() => this.sweep(), Math.min(SWEEP_EVERY_MS, options.idleMs));
    // Housekeeping alone must not keep a process alive.
    this.sweeper.unref();
    this.makeSpareLater();
  }

  /** The app's isolate for `memoryMb`: its warm one, or a new one (a cold start). */
  get(appId: string, memoryMb: number): AppIsolate {
    const key = poolKey(appId, memoryMb);
    this.uses.use(key);
    const windowed = this.window.get(key);
    if (windowed) {
      // Runs again before the window let it go: a cold isolate with runs once more.
      this.window.delete(key);
      this.windowBytes -= windowed.bytes;
      this.cold.set(key, windowed);
    }
    const existing = this.warm.get(key) ?? this.cold.get(key);
    if (existing?.disposed) existing.dispose("memory");
    else if (existing) {
      if (this.warm.delete(key)) this.warm.set(key, existing);
      return existing;
    }
    const app = new AppIsolate({
      appId,
      memoryMb,
      sandbox: this.options.sandbox,
      contextsPerVersion: this.options.contextsPerVersion,
      onCatastrophicError: this.options.onCatastrophicError,
      onDisposed: (gone, reason) => this.forget(key, gone, reason),
      ...this.takeSpare(memoryMb),
    });
    this.counters.created++;
    this.cold.set(key, app);
    return app;
  }

  /**
   * For a run of `script` whose app's isolate has no idle context of the
   * version but one on its way back (AppIsolate.contextComingBack): a
   * promise of that isolate and context, or of null; else null at once.
   */
  contextComingBack(script: CompiledScript, memoryMb: number): Promise<{ app: AppIsolate; context: SandboxContext } | null> | null {
    const key = poolKey(script.appId, memoryMb);
    const app = this.warm.get(key) ?? this.cold.get(key) ?? this.window.get(key);
    const coming = app && !app.disposed ? app.contextComingBack(script) : null;
    return coming ? coming.then((context) => (context ? { app: app as AppIsolate, context } : null)) : null;
  }

  /** Called when a run leaves `app`: starts its idle clock; a cold isolate whose runs are all over is admitted or let go. */
  released(app: AppIsolate): void {
    const now = performance.now();
    app.lastUsed = now;
    if (app.disposed || app.busy) return;
    const key = keyOf(app);
    if (this.cold.get(key) === app) {
      this.cold.delete(key);
      this.place(key, app, now);
      return;
    }
    if (app.measuredAt === null || now - app.measuredAt >= MEASURE_EVERY_MS) {
      this.warmBytes -= app.bytes;
      this.warmBytes += app.measure(now);
    }
    // Grown past the budget: the least recently used idle ones make room.
    for (const victim of this.warm.values()) {
      if (this.fits(0, 0)) return;
      if (victim !== app && !victim.busy) victim.dispose("evicted");
    }
  }

  /** Warm isolates, those in the window, and cold ones with runs in them. */
  get size(): number {
    return this.warm.size + this.window.size + this.cold.size;
  }

  /** What the isolates hold, as last measured, the window's and the spare's included. */
  get bytes(): number {
    let cold = 0;
    for (const app of this.cold.values()) cold += app.bytes;
    return this.warmBytes + this.windowBytes + cold + (this.spare?.bytes ?? 0);
  }

  get spares(): number {
    return this.spare ? 1 : 0;
  }

  *all(): IterableIterator<AppIsolate> {
    yield* this.warm.values();
    yield* this.window.values();
    yield* this.cold.values();
  }

  /** Disposes every isolate; runs in flight end as `shutdown`. */
  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const app of [...this.all()]) app.dispose("shutdown");
    this.spare?.spare.isolate.dispose();
    this.spare = null;
  }

  /** Idle isolates past `idleMs`, and idle ones burning CPU, are disposed. */
  sweep(now = performance.now()): void {
    for (const app of [...this.all()]) {
      if (app.busy) continue;
      if (app.disposed) {
        app.dispose("memory");
        continue;
      }
      // Entries check the idle budget themselves (app-isolate.ts); this
      // catches an isolate that spent it with no entry since.
      if (app.idleCpuLeftMs() <= 0) {
        app.dispose("runaway");
      } else if (now - app.lastUsed >= this.options.idleMs) {
        app.dispose("idle");
      }
    }
    this.makeSpareLater();
  }

  // A cold isolate whose runs are over: warm when there is room, else into
  // the window, whose oldest go on to admit() once it holds more than its
  // share. One bigger than the window's whole share competes at once.
  private place(key: string, app: AppIsolate, now: number): void {
    const bytes = app.measure(now);
    if (this.fits(bytes, 1)) {
      this.keepWarm(key, app, bytes);
      return;
    }
    if (bytes > this.windowMaxBytes) {
      this.admit(key, app);
      return;
    }
    this.window.set(key, app);
    this.windowBytes += bytes;
    for (const [oldKey, old] of this.window) {
      if (this.windowBytes <= this.windowMaxBytes && this.window.size <= this.windowMaxCount) break;
      this.window.delete(oldKey);
      this.windowBytes -= old.bytes;
      this.admit(oldKey, old);
    }
  }

  // Kept only when its app was used more lately than every warm isolate
  // that would go for it (see the file comment). Warm isolates with runs
  // in them are never taken: killing a run to make room would turn load
  // into failures.
  private admit(key: string, app: AppIsolate): void {
    const bytes = app.bytes;
    const uses = this.uses.count(key);
    const victims: AppIsolate[] = [];
    let freed = 0;
    for (const [victimKey, victim] of this.warm) {
      if (this.fits(bytes - freed, 1 - victims.length)) break;
      if (victim.busy) continue;
      if (this.uses.count(victimKey) >= uses) break;
      victims.push(victim);
      freed += victim.bytes;
    }
    if (!this.fits(bytes - freed, 1 - victims.length)) {
      app.dispose("not_admitted");
      return;
    }
    for (const victim of victims) victim.dispose("evicted");
    this.keepWarm(key, app, bytes);
  }

  private keepWarm(key: string, app: AppIsolate, bytes: number): void {
    this.warm.set(key, app);
    this.warmBytes += bytes;
  }

  /**
   * Whether the warm isolates (and the spare) stay within both bounds with
   * `bytes` more held and `added` more of them: the pool's bounds less the
   * window's share, kept for it whether it is used or not (so that a window
   * isolate never takes a warm place but through admit()).
   */
  private fits(bytes: number, added: number): boolean {
    return this.warmBytes + (this.spare?.bytes ?? 0) + bytes <= this.options.memoryBytes - this.windowMaxBytes && this.warm.size + added <= this.warmMaxCount;
  }

  private forget(key: string, app: AppIsolate, reason: DisposeReason): void {
    this.counters.disposed[reason]++;
    if (this.warm.get(key) === app) {
      this.warm.delete(key);
      this.warmBytes -= app.bytes;
    }
    if (this.window.get(key) === app) {
      this.window.delete(key);
      this.windowBytes -= app.bytes;
    }
    if (this.cold.get(key) === app) this.cold.delete(key);
  }

  private takeSpare(memoryMb: number): { spare?: SpareIsolate } {
    if (this.spare === null || memoryMb !== this.spare.spare.memoryMb) return {};
    const { spare } = this.spare;
    this.spare = null;
    this.counters.fromSpare++;
    this.makeSpareLater();
    return { spare };
  }

  private makeSpareLater(): void {
    if (this.spare !== null || this.spareComing || this.closed) return;
    this.spareComing = true;
    later(() => {
      this.spareComing = false;
      if (this.spare !== null || this.closed) return;
      try {
        const spare = makeSpare(this.options.spareMemoryMb, this.options.onCatastrophicError);
        this.spare = { spare, bytes: heapBytes(spare.isolate) };
      } catch {
        // No spare this time (the isolate could not be made, e.g. out of
        // memory): the next cold start makes its own, and reports its failure
        // to its run, instead of this callback taking the thread down.
      }
    });
  }
}

/** An isolate's place in the pool: one per app and memory limit. */
function poolKey(appId: string, memoryMb: number): string {
  return `${appId}\u0000${memoryMb}`;
}

function keyOf(app: AppIsolate): string {
  return poolKey(app.appId, app.options.memoryMb);
}
