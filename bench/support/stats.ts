/**
 * Summaries of latency samples. A sample is nanoseconds per operation: either
 * one timed call, or a timed batch divided by its size (see ./measure.ts).
 */
export interface Summary {
  samples: number;
  /** Operations the samples cover (samples × batch size). */
  ops: number;
  p50: number;
  p99: number;
  min: number;
  max: number;
  /** Total time over total operations: what a sequential caller sees as throughput. */
  mean: number;
}

/**
 * The nearest-rank percentile of ascending `sorted` values (`p` in 0..100): the
 * smallest sample with at least p% of samples at or below it, never an
 * interpolated value no call actually took.
 *
 * @example
 * percentile([1, 2, 3, 4], 50); // 2
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error("percentile of no samples");
  if (p < 0 || p > 100) throw new Error(`percentile ${p} is outside 0..100`);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

/** Summarizes per-op samples (ns) taken `batchSize` operations at a time. */
export function summarize(samples: readonly number[], batchSize = 1): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const total = sorted.reduce((sum, x) => sum + x, 0);
  return {
    samples: sorted.length,
    ops: sorted.length * batchSize,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    mean: total / sorted.length,
  };
}

/** Operations per second of a sequential caller, from the mean ns per op. */
export function opsPerSecond(summary: Summary): number {
  return 1e9 / summary.mean;
}

/**
 * A duration in the unit that keeps it readable: ns below 1 µs, µs below
 * 1 ms, ms above.
 *
 * @example
 * formatNs(1234); // "1.23 µs"
 */
export function formatNs(ns: number): string {
  if (ns < 1_000) return `${ns.toFixed(0)} ns`;
  if (ns < 1_000_000) return `${(ns / 1_000).toFixed(2)} µs`;
  return `${(ns / 1_000_000).toFixed(3)} ms`;
}

/** A rate with thousands separators, e.g. "812,345". */
export function formatRate(perSecond: number): string {
  return Math.round(perSecond).toLocaleString("en-US");
}
