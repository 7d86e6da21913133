/**
 * Warm isolates, one per (app, memory limit), in a bounded LRU. An isolate
 * is handed out only for its own app; idle ones are disposed after `idleMs`,
 * and the least recently used idle one makes room when the pool is full.
 */
import { AppIsolate, type DisposeReason } from "./app-isolate.ts";
import type { SandboxConfig } from "./sandbox-context.ts";

const SWEEP_EVERY_MS = 1_000;

/** The pool's bounds and what each isolate is made with. */
export interface IsolatePoolOptions {
  poolSize: number;
  idleMs: number;
  sandbox: SandboxConfig;
  contextsPerVersion: number;
  onCatastrophicError: ((message: string) => void) | undefined;
}

/** Counts since the pool was made. */
export interface PoolCounters {
  created: number;
  disposed: Record<DisposeReason, number>;
}

/** The bounded LRU of app isolates; see the file comment. */
export class IsolatePool {
  readonly counters: PoolCounters = {
    created: 0,
    disposed: { idle: 0, evicted: 0, timeout: 0, memory: 0, runaway: 0, shutdown: 0 },
  };
  // Map order is the LRU order: least recently used first.
  private readonly apps = new Map<string, AppIsolate>();
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(private readonly options: IsolatePoolOptions) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(SWEEP_EVERY_MS, options.idleMs));
    // Housekeeping alone must not keep a process alive.
    this.sweeper.unref();
  }

  /** The app's isolate for `memoryMb`, created when there is none (or it was disposed). */
  get(appId: string, memoryMb: number): AppIsolate {
    const key = `${appId}\u0000${memoryMb}`;
    let app = this.apps.get(key);
    if (app?.disposed) {
      app.dispose("memory");
      app = undefined;
    }
    if (app) {
      this.apps.delete(key);
    } else {
      app = new AppIsolate({
        appId,
        memoryMb,
        sandbox: this.options.sandbox,
        contextsPerVersion: this.options.contextsPerVersion,
        onCatastrophicError: this.options.onCatastrophicError,
        onDisposed: (gone, reason) => {
          this.counters.disposed[reason]++;
          if (this.apps.get(key) === gone) this.apps.delete(key);
        },
      });
      this.counters.created++;
    }
    this.apps.set(key, app);
    this.evictOverflow(app);
    return app;
  }

  /** Called when a run leaves `app`: starts its idle clock and makes room if the pool overflowed. */
  released(app: AppIsolate): void {
    app.lastUsed = performance.now();
    this.evictOverflow();
  }

  get size(): number {
    return this.apps.size;
  }

  all(): IterableIterator<AppIsolate> {
    return this.apps.values();
  }

  /** Disposes every isolate; runs in flight end as `shutdown`. */
  close(): void {
    clearInterval(this.sweeper);
    for (const app of [...this.apps.values()]) app.dispose("shutdown");
  }

  /** Idle isolates past `idleMs`, and idle ones burning CPU, are disposed. */
  sweep(now = performance.now()): void {
    for (const app of [...this.apps.values()]) {
      if (app.active.size > 0) continue;
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
  }

  // Over the bound, the least recently used isolate with no run in flight
  // goes. When every isolate is busy the pool stays over until runs end:
  // killing a run to make room would turn load into failures.
  // `keep` is the isolate just handed out, whose run has not started yet.
  private evictOverflow(keep?: AppIsolate): void {
    if (this.apps.size <= this.options.poolSize) return;
    for (const app of [...this.apps.values()]) {
      if (this.apps.size <= this.options.poolSize) return;
      if (app !== keep && app.active.size === 0) app.dispose("evicted");
    }
  }
}
