import { request } from "./client.ts";

export type StatsWindow = "1h" | "24h";

type Counts = number[];
type Gaps = Array<number | null>;

/** `GET /api/v1/admin/apps/{appId}/stats` and `GET /api/v1/admin/stats`: one point per bucket in every series. */
export interface Stats {
  app_id: string | null;
  workspace_id: string | null;
  window: StatsWindow;
  bucket_seconds: number;
  from: string;
  to: string;
  buckets: string[];
  runs: { ok: Counts; error: Counts; timeout: Counts; oom: Counts };
  duration_ms: { p50: Gaps; p95: Gaps };
  queue: { depth: Gaps; due: Gaps; running: Gaps; oldest_due_seconds: Gaps };
  dead_letters: Counts;
  mail: { sent: Counts; captured: Counts; failed: Counts };
  inbound: { email: { accepted: Counts; refused: Counts }; http: { accepted: Counts; refused: Counts } };
  totals: {
    runs: number;
    failed_runs: number;
    p50_ms: number | null;
    p95_ms: number | null;
    dead_letters: number;
    mail_sent: number;
    mail_failed: number;
    inbound_accepted: number;
    inbound_refused: number;
  };
  queue_now: { depth: number; due: number; running: number; oldest_due_seconds: number | null };
}

/** One app's series, or (no app) every app the token may see. */
export function loadStats(appId: string | null, window: StatsWindow): Promise<Stats> {
  const path = appId === null ? "/api/v1/admin/stats" : `/api/v1/admin/apps/${encodeURIComponent(appId)}/stats`;
  return request<Stats>(path, { query: { window } });
}
