/**
 * Per-key fixed-window counters (one minute), in process memory: a limit
 * across several worker processes is per process, an approximation the
 * operator sets knowing it.
 */
export class MinuteLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  /** Counts one event for `key`; answers ms to wait when over `perMinute`, else 0. */
  take(key: string, perMinute: number, now = Date.now()): number {
    const start = now - (now % 60_000);
    let window = this.windows.get(key);
    if (!window || window.start !== start) {
      if (this.windows.size > 10_000) this.windows.clear();
      window = { start, count: 0 };
      this.windows.set(key, window);
    }
    if (window.count >= perMinute) return start + 60_000 - now;
    window.count += 1;
    return 0;
  }
}
