/** The windows the stats API answers for. */
export const STATS_WINDOWS = ["1h", "24h"] as const;
export type StatsWindow = (typeof STATS_WINDOWS)[number];

/**
 * Bucket width per window: a minute over the last hour (60 points), a
 * quarter of an hour over the last day (96 points). Per-minute points for a
 * day would be 1,440 per series: 14 series of them is ~100 KB of JSON for a
 * chart a phone draws 390 px wide.
 */
const BUCKET_SECONDS: Record<StatsWindow, number> = { "1h": 60, "24h": 900 };
const WINDOW_SECONDS: Record<StatsWindow, number> = { "1h": 3_600, "24h": 86_400 };

/** The buckets of one answer: `count` buckets of `seconds`, the first starting at `from`, the last holding `at`. */
export interface Buckets {
  window: StatsWindow;
  seconds: number;
  count: number;
  from: Date;
  /** The moment the answer is for (the last bucket is still filling). */
  to: Date;
}

/**
 * Buckets aligned to whole multiples of their width since the epoch, so two
 * answers a few seconds apart put the same minute in the same bucket, and a
 * bucket of 15 minutes starts on :00, :15, :30 or :45.
 *
 * @example
 * bucketsFor("1h", new Date("2025-01-01T10:30:20Z")); // from 09:31:00, 60 buckets of 60 s, the last 10:30:00–10:31:00
 */
export function bucketsFor(window: StatsWindow, at: Date): Buckets {
  const seconds = BUCKET_SECONDS[window];
  const count = WINDOW_SECONDS[window] / seconds;
  const lastStart = Math.floor(at.getTime() / 1000 / seconds) * seconds;
  return { window, seconds, count, from: new Date((lastStart - (count - 1) * seconds) * 1000), to: at };
}

/** The start of each bucket, as ISO strings. */
export function bucketStarts(b: Buckets): string[] {
  return Array.from({ length: b.count }, (_, i) => new Date(b.from.getTime() + i * b.seconds * 1000).toISOString());
}
