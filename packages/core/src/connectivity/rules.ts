import { percentile } from "./histogram.ts";

export const CONNECTIVITY_STATUSES = ["healthy", "degraded", "down"] as const;
export type ConnectivityStatus = (typeof CONNECTIVITY_STATUSES)[number];

/**
 * The status rules' parameters. The defaults are the documented rules; an
 * operator sets the window (SWITCHYARD_CONNECTIVITY_WINDOW_MS), tests shorten
 * it so that a host recovers in seconds.
 */
export interface StatusRules {
  /** How far back the counts, the error rate and p95 look. */
  windowMs: number;
  /** Failures in a row that take a host down, and successes in a row that bring a down host back. */
  streak: number;
  /** A host whose share of failed attempts in the window is above this is degraded. */
  maxErrorRate: number;
  /** A host whose p95 latency in the window is above this (ms) is degraded. */
  maxP95Ms: number;
}

export const DEFAULT_STATUS_RULES: StatusRules = { windowMs: 300_000, streak: 5, maxErrorRate: 0.1, maxP95Ms: 2000 };

/**
 * The length of one stored bucket (`connectivity_minutes.minute` is its
 * start): a fifth of the window, in whole seconds, between 1 s and a minute.
 * A five-minute window keeps minute rows; a 5 s window (tests) keeps 1 s
 * rows, so a host can recover within seconds.
 */
export function bucketMsFor(windowMs: number): number {
  return Math.min(60_000, Math.max(1_000, Math.floor(windowMs / 5_000) * 1_000));
}

/** One fetch attempt as the rules see it. */
export interface Attempt {
  /** When it was recorded (epoch ms). */
  at: number;
  ok: boolean;
  ms: number;
}

/** What the window holds, every worker's rows merged. */
export interface WindowCounts {
  requests: number;
  errors: number;
  histogram: readonly number[];
}

export interface Evidence {
  /** The window's counts; for a host that came back from down, only the minutes after it did. */
  window: WindowCounts;
  /** The latest attempts across all workers, oldest first (at least `streak` when there were as many). */
  recent: readonly Attempt[];
}

export interface Decision {
  status: ConnectivityStatus;
  /** The host came back from down by a streak of successes: the window restarts after it. */
  recovered: boolean;
}

/**
 * The status rules, in order:
 *
 * 1. **down** when attempts were made in the window and none succeeded, or
 *    the last `streak` (5) attempts across all workers all failed.
 * 2. A down host **stays down** until its last 5 attempts all succeeded
 *    (then it is judged by those 5 alone, and the window's rate and latency
 *    rules count only what comes after them), or until the window holds
 *    successes and no failure any more, nor do its latest attempts (the
 *    outage has left the window).
 * 3. **degraded** when more than 10% of the window's attempts failed, or its
 *    p95 latency is above 2 s.
 * 4. **healthy** otherwise. A window without attempts keeps the status.
 *
 * A failure is a fetch that did not get an answer (any error code but
 * `aborted`, which the script chose) or got HTTP 5xx or 429.
 *
 * @example
 * decideStatus("healthy", { window: { requests: 40, errors: 6, histogram }, recent }, DEFAULT_STATUS_RULES);
 * // { status: "degraded", recovered: false }: 15% failed
 */
export function decideStatus(current: ConnectivityStatus, evidence: Evidence, rules: StatusRules): Decision {
  const { window } = evidence;
  const last = evidence.recent.slice(-rules.streak);
  const streak = last.length >= rules.streak;
  if (current === "down") {
    if (streak && last.every((a) => a.ok)) {
      const p95 = nearestRank(last.map((a) => a.ms), 0.95);
      return { status: p95 > rules.maxP95Ms ? "degraded" : "healthy", recovered: true };
    }
    if (window.requests > 0 && window.errors === 0 && last.every((a) => a.ok)) return { status: judge(window, rules), recovered: false };
    return { status: "down", recovered: false };
  }
  if (window.requests > 0 && window.errors >= window.requests) return { status: "down", recovered: false };
  if (streak && last.every((a) => !a.ok)) return { status: "down", recovered: false };
  if (window.requests === 0) return { status: current, recovered: false };
  return { status: judge(window, rules), recovered: false };
}

/** Rules 3 and 4 over a window that holds attempts. */
function judge(window: WindowCounts, rules: StatusRules): ConnectivityStatus {
  if (window.errors / window.requests > rules.maxErrorRate) return "degraded";
  const p95 = percentile(window.histogram, 0.95);
  return p95 !== null && p95 > rules.maxP95Ms ? "degraded" : "healthy";
}

function nearestRank(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? 0;
}
