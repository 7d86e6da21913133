import { describe, expect, it } from "vitest";
import { addInto, bucketIndex, emptyHistogram, histogramCount, LATENCY_EDGES_MS, mergeHistograms, observe, percentile } from "./histogram.ts";

const histogramOf = (durations: number[]) => {
  const h = emptyHistogram();
  for (const ms of durations) observe(h, ms);
  return h;
};

describe("latency histograms", () => {
  it("puts a duration in the first bucket whose upper edge holds it, and anything past the last edge in the overflow bucket", () => {
    expect(bucketIndex(0)).toBe(0);
    expect(bucketIndex(10)).toBe(0);
    expect(bucketIndex(10.5)).toBe(1);
    expect(bucketIndex(2000)).toBe(LATENCY_EDGES_MS.indexOf(2000));
    expect(bucketIndex(2001)).toBe(LATENCY_EDGES_MS.indexOf(2000) + 1);
    expect(bucketIndex(60_000)).toBe(LATENCY_EDGES_MS.length);
    expect(emptyHistogram()).toHaveLength(LATENCY_EDGES_MS.length + 1);
  });

  it("merges across workers and minutes to the same histogram as counting every duration in one", () => {
    const workerA = [3, 40, 40, 180, 900, 2500];
    const workerB = [12, 12, 60, 2100, 2100, 31_000];
    const minute2 = [5, 5, 5, 700];
    const merged = mergeHistograms([histogramOf(workerA), histogramOf(workerB), histogramOf(minute2)]);
    expect(merged).toEqual(histogramOf([...workerA, ...workerB, ...minute2]));
    expect(histogramCount(merged)).toBe(16);
    // Merging is order-free: p50 and p95 are the same whichever way the rows come.
    const reversed = mergeHistograms([histogramOf(minute2), histogramOf(workerB), histogramOf(workerA)]);
    expect(percentile(reversed, 0.5)).toBe(percentile(merged, 0.5));
    expect(percentile(reversed, 0.95)).toBe(percentile(merged, 0.95));
  });

  it("answers percentiles inside the bucket that holds the rank, never past its edges", () => {
    expect(percentile(emptyHistogram(), 0.5)).toBeNull();
    // 100 fast (≤ 10 ms) and 100 at 2.5 s: p50 is fast, p95 is in (2000, 3000].
    const h = histogramOf([...Array(100).fill(5), ...Array(100).fill(2500)]);
    const p50 = percentile(h, 0.5) as number;
    const p95 = percentile(h, 0.95) as number;
    expect(p50).toBeGreaterThan(0);
    expect(p50).toBeLessThanOrEqual(10);
    expect(p95).toBeGreaterThan(2000);
    expect(p95).toBeLessThanOrEqual(3000);
    // 95 of 100 at or under 2 s: p95 is at most 2000, exactly on the edge's side.
    const edge = histogramOf([...Array(95).fill(1900), ...Array(5).fill(9000)]);
    expect(percentile(edge, 0.95)).toBeLessThanOrEqual(2000);
    expect(percentile(histogramOf([...Array(94).fill(1900), ...Array(6).fill(9000)]), 0.95)).toBeGreaterThan(2000);
    // Slower than the last edge: the last edge, as much as the histogram knows.
    expect(percentile(histogramOf([120_000]), 0.5)).toBe(30_000);
  });

  it("adds a stored row of another length without losing its counts", () => {
    const into = emptyHistogram();
    addInto(into, [1, 2]);
    addInto(into, [...Array(LATENCY_EDGES_MS.length + 3).fill(0), 7]);
    expect(into[0]).toBe(1);
    expect(into[1]).toBe(2);
    expect(into[LATENCY_EDGES_MS.length]).toBe(7);
    expect(histogramCount(into)).toBe(10);
  });
});
