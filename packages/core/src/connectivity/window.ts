import type { connectivityMinutes } from "@switchyard/db";
import { emptyHistogram, addInto, percentile, type Histogram } from "./histogram.ts";
import { bucketMsFor, type Attempt } from "./rules.ts";

export type MinuteRow = typeof connectivityMinutes.$inferSelect;

/** Rows of any workers and minutes, added up. */
export interface MergedCounts {
  requests: number;
  errors: number;
  errorsByCode: Record<string, number>;
  histogram: Histogram;
  lastStatus: number | null;
  lastError: string | null;
  lastErrorAt: Date | null;
  lastSuccessAt: Date | null;
  lastAttemptAt: Date | null;
  /** The latest attempts of all the rows, oldest first, at most `keep`. */
  recent: Attempt[];
}

const later = (a: Date | null, b: Date | null) => (a === null ? b : b === null ? a : b.getTime() > a.getTime() ? b : a);

/**
 * Adds rows up: counts and histograms bucket by bucket; the last status of
 * the row attempted last, the last error of the row that failed last; the
 * latest `keep` attempts of all rows together (each row keeps its worker's
 * latest of that minute, so the latest of all are among them).
 */
export function mergeRows(rows: readonly MinuteRow[], keep = 5): MergedCounts {
  const merged: MergedCounts = {
    requests: 0,
    errors: 0,
    errorsByCode: {},
    histogram: emptyHistogram(),
    lastStatus: null,
    lastError: null,
    lastErrorAt: null,
    lastSuccessAt: null,
    lastAttemptAt: null,
    recent: [],
  };
  const attempts: Attempt[] = [];
  for (const row of rows) {
    merged.requests += row.requests;
    merged.errors += row.errors;
    for (const [code, n] of Object.entries(row.errorsByCode)) merged.errorsByCode[code] = (merged.errorsByCode[code] ?? 0) + n;
    addInto(merged.histogram, row.latencyHistogram);
    if (merged.lastAttemptAt === null || row.lastAttemptAt.getTime() > merged.lastAttemptAt.getTime()) {
      merged.lastAttemptAt = row.lastAttemptAt;
      merged.lastStatus = row.lastStatus;
    }
    if (row.lastErrorAt && (merged.lastErrorAt === null || row.lastErrorAt.getTime() > merged.lastErrorAt.getTime())) {
      merged.lastErrorAt = row.lastErrorAt;
      merged.lastError = row.lastError;
    }
    merged.lastSuccessAt = later(merged.lastSuccessAt, row.lastSuccessAt);
    for (const [at, ok, ms] of row.recent) attempts.push({ at, ok: ok === 1, ms: ms ?? 0 });
  }
  // Stable: a row's own attempts keep their order when times tie.
  attempts.sort((a, b) => a.at - b.at);
  merged.recent = attempts.slice(-keep);
  return merged;
}

/** Where the window's rows start: every bucket that overlaps the last `windowMs`. */
export function windowStart(now: Date, windowMs: number): Date {
  return new Date(now.getTime() - windowMs - bucketMsFor(windowMs));
}

/** p50 and p95 of merged counts, in ms (null without attempts). */
export const latencyOf = (counts: Pick<MergedCounts, "histogram">) => ({ p50_ms: percentile(counts.histogram, 0.5), p95_ms: percentile(counts.histogram, 0.95) });
