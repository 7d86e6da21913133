/**
 * Upper edges (ms) of the latency buckets every connectivity row counts in;
 * one more bucket holds what is slower than the last edge. Fixed for every
 * worker and minute, so rows add up bucket by bucket and percentiles can be
 * taken over any set of them. 2000 is an edge, so the "p95 over 2 s" rule is
 * decided exactly, not by interpolation.
 */
export const LATENCY_EDGES_MS: readonly number[] = [10, 25, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10_000, 30_000];

/** A latency histogram: `LATENCY_EDGES_MS.length + 1` counts. */
export type Histogram = number[];

export const emptyHistogram = (): Histogram => new Array<number>(LATENCY_EDGES_MS.length + 1).fill(0);

/** The bucket a duration falls in: the first whose upper edge is at or above it. */
export function bucketIndex(ms: number): number {
  for (let i = 0; i < LATENCY_EDGES_MS.length; i++) if (ms <= (LATENCY_EDGES_MS[i] as number)) return i;
  return LATENCY_EDGES_MS.length;
}

/** Counts one duration into `histogram` (in place). */
export function observe(histogram: Histogram, ms: number): void {
  const i = bucketIndex(ms);
  histogram[i] = (histogram[i] ?? 0) + 1;
}

/**
 * Adds `from` into `into` bucket by bucket (in place). A stored row that is
 * shorter or longer than today's edges (another version wrote it) adds what
 * it has; anything past the last bucket counts as the slowest.
 */
export function addInto(into: Histogram, from: readonly number[]): Histogram {
  const last = into.length - 1;
  for (let i = 0; i < from.length; i++) {
    const n = Number(from[i]) || 0;
    const at = Math.min(i, last);
    into[at] = (into[at] ?? 0) + n;
  }
  return into;
}

export const mergeHistograms = (histograms: Iterable<readonly number[]>): Histogram => {
  const merged = emptyHistogram();
  for (const h of histograms) addInto(merged, h);
  return merged;
};

export const histogramCount = (histogram: readonly number[]): number => histogram.reduce((sum, n) => sum + n, 0);

/**
 * The `q` quantile (0 < q ≤ 1) of a histogram, in ms: the bucket holding the
 * rank-th duration (rank = ⌈q·count⌉), interpolated linearly inside it, as
 * Prometheus's histogram_quantile does. Past the last edge it answers the
 * last edge (the histogram knows no more). Null when the histogram is empty.
 *
 * @example
 * percentile(mergeHistograms(rows.map((r) => r.latencyHistogram)), 0.95);
 */
export function percentile(histogram: readonly number[], q: number): number | null {
  const total = histogramCount(histogram);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let below = 0;
  for (let i = 0; i < histogram.length; i++) {
    const n = histogram[i] ?? 0;
    if (n > 0 && below + n >= rank) {
      const upper = LATENCY_EDGES_MS[i];
      const lower = i === 0 ? 0 : (LATENCY_EDGES_MS[i - 1] as number);
      if (upper === undefined) return lower;
      return Math.round(lower + ((upper - lower) * (rank - below)) / n);
    }
    below += n;
  }
  return LATENCY_EDGES_MS[LATENCY_EDGES_MS.length - 1] as number;
}
