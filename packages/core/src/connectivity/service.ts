import { and, count, eq, gt, max, sql } from "drizzle-orm";
import { apps, connectivityMinutes, connectivityStatus, type Db } from "@switchyard/db";
import { requireScope, type Principal } from "../principal.ts";
import { getApp } from "../tenancy.ts";
import { CONNECTIVITY_STATUSES, DEFAULT_STATUS_RULES, type ConnectivityStatus, type StatusRules } from "./rules.ts";
import { latencyOf, mergeRows, windowStart, type MergedCounts, type MinuteRow } from "./window.ts";

/** Counts and latency over the window, and the latest of each kind of event. */
export interface ConnectivityCounts {
  requests: number;
  errors: number;
  errors_by_code: Record<string, number>;
  p50_ms: number | null;
  p95_ms: number | null;
  /** HTTP status of the latest attempt (null when it got no answer). */
  last_status: number | null;
  /** Code of the latest failure: `connect_failed`, `egress_timeout`, `http_503`, ... */
  last_error: string | null;
  last_error_at: string | null;
  last_success_at: string | null;
  last_attempt_at: string | null;
}

export interface HostConnectivity extends ConnectivityCounts {
  host: string;
  status: ConnectivityStatus;
  /** When the status began. */
  since: string | null;
  /** What each worker process saw of it in the window. */
  workers: Array<ConnectivityCounts & { worker_id: string }>;
}

export interface AppConnectivity {
  app_id: string;
  window_ms: number;
  as_of: string;
  /** Down first, then degraded, then healthy; by host within each. */
  hosts: HostConnectivity[];
}

export interface ConnectivityHealth {
  /** The worst status of any host the token may see; healthy when there is none. */
  overall_status: ConnectivityStatus;
  total_hosts: number;
  healthy: number;
  degraded: number;
  down: number;
  timestamp: string;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
const SEVERITY: Record<ConnectivityStatus, number> = { down: 0, degraded: 1, healthy: 2 };

function countsOf(m: MergedCounts, lasts?: Lasts): ConnectivityCounts {
  return {
    requests: m.requests,
    errors: m.errors,
    errors_by_code: m.errorsByCode,
    ...latencyOf(m),
    last_status: lasts ? lasts.lastStatus : m.lastStatus,
    last_error: lasts ? lasts.lastError : m.lastError,
    last_error_at: iso(lasts ? lasts.lastErrorAt : m.lastErrorAt),
    last_success_at: iso(lasts ? lasts.lastSuccessAt : m.lastSuccessAt),
    last_attempt_at: iso(lasts ? lasts.lastAttemptAt : m.lastAttemptAt),
  };
}

interface Lasts {
  lastStatus: number | null;
  lastError: string | null;
  lastErrorAt: Date | null;
  lastSuccessAt: Date | null;
  lastAttemptAt: Date | null;
}

/**
 * What the admin API shows of connectivity: per app, each destination's
 * status with the window's counts and a per-worker breakdown; across apps,
 * how many destinations are in each status. The latest attempt, error and
 * success of a host are taken over every row kept (24 h), so a host that is
 * down still shows when it last worked; counts and latency are the window's.
 *
 * @example
 * const connectivity = createConnectivityService({ db, rules: { ...DEFAULT_STATUS_RULES, windowMs: 60_000 } });
 * await connectivity.list(principal, "billing"); // { hosts: [{ host: "api.stripe.com", status: "healthy", ... }] }
 */
export function createConnectivityService(options: { db: Db; rules?: StatusRules; now?: () => Date }) {
  const { db } = options;
  const rules = options.rules ?? DEFAULT_STATUS_RULES;
  const now = options.now ?? (() => new Date());

  async function lastsOf(appId: string): Promise<Map<string, Lasts>> {
    const m = connectivityMinutes;
    const rows = await db
      .select({
        host: m.host,
        lastStatus: sql<number | null>`(array_agg(${m.lastStatus} order by ${m.lastAttemptAt} desc))[1]`.mapWith(m.lastStatus),
        lastError: sql<string | null>`(array_agg(${m.lastError} order by ${m.lastErrorAt} desc nulls last))[1]`.mapWith(m.lastError),
        lastErrorAt: max(m.lastErrorAt),
        lastSuccessAt: max(m.lastSuccessAt),
        lastAttemptAt: max(m.lastAttemptAt),
      })
      .from(m)
      .where(eq(m.appId, appId))
      .groupBy(m.host);
    return new Map(rows.map((r) => [r.host, r]));
  }

  return {
    rules,

    /** The app's destinations (404 for an app the token cannot see). Needs `runs:read`. */
    async list(principal: Principal, appRef: string): Promise<AppConnectivity> {
      requireScope(principal, "runs:read");
      const app = await getApp(db, principal, appRef);
      const at = now();
      const [rows, statuses, lasts] = await Promise.all([
        db
          .select()
          .from(connectivityMinutes)
          .where(and(eq(connectivityMinutes.appId, app.id), gt(connectivityMinutes.minute, windowStart(at, rules.windowMs)))),
        db.select().from(connectivityStatus).where(eq(connectivityStatus.appId, app.id)),
        lastsOf(app.id),
      ]);
      const byHost = new Map<string, MinuteRow[]>();
      for (const row of rows) (byHost.get(row.host) ?? byHost.set(row.host, []).get(row.host))?.push(row);
      const status = new Map(statuses.map((s) => [s.host, s]));
      const names = new Set([...byHost.keys(), ...status.keys()]);
      const hosts = [...names].map((host): HostConnectivity => {
        const hostRows = byHost.get(host) ?? [];
        const byWorker = new Map<string, MinuteRow[]>();
        for (const row of hostRows) (byWorker.get(row.workerId) ?? byWorker.set(row.workerId, []).get(row.workerId))?.push(row);
        const s = status.get(host);
        const first = hostRows.reduce<Date | null>((min, r) => (min === null || r.minute < min ? r.minute : min), null);
        return {
          host,
          // Not evaluated yet (between a first write and its evaluation): a new host starts healthy.
          status: s?.status ?? "healthy",
          since: iso(s?.since ?? first),
          ...countsOf(mergeRows(hostRows), lasts.get(host)),
          workers: [...byWorker.entries()]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([workerId, workerRows]) => ({ worker_id: workerId, ...countsOf(mergeRows(workerRows)) })),
        };
      });
      hosts.sort((a, b) => SEVERITY[a.status] - SEVERITY[b.status] || a.host.localeCompare(b.host));
      return { app_id: app.id, window_ms: rules.windowMs, as_of: at.toISOString(), hosts };
    },

    /** How many destinations are in each status, over the apps the token may see. Needs `runs:read`. */
    async health(principal: Principal): Promise<ConnectivityHealth> {
      requireScope(principal, "runs:read");
      const limitedTo = principal.type === "token" ? principal.workspaceId : null;
      const rows = await db
        .select({ status: connectivityStatus.status, n: count() })
        .from(connectivityStatus)
        .innerJoin(apps, eq(apps.id, connectivityStatus.appId))
        .where(limitedTo === null ? undefined : eq(apps.workspaceId, limitedTo))
        .groupBy(connectivityStatus.status);
      const counts: Record<ConnectivityStatus, number> = { healthy: 0, degraded: 0, down: 0 };
      for (const r of rows) counts[r.status] = Number(r.n);
      const overall = CONNECTIVITY_STATUSES.slice()
        .reverse()
        .find((s) => counts[s] > 0) ?? "healthy";
      return {
        overall_status: overall,
        total_hosts: counts.healthy + counts.degraded + counts.down,
        ...counts,
        timestamp: now().toISOString(),
      };
    },
  };
}

export type ConnectivityService = ReturnType<typeof createConnectivityService>;
