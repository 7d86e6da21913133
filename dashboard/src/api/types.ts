// Shapes of the admin API's answers, as the running service sends them
// (GET /api/v1/openapi.json lists the routes; these are their bodies).

/** The signed-in token, as `GET /api/v1/admin/whoami` answers. */
export interface Whoami {
  type: "token";
  id: string;
  /** Sorted; `admin` implies every other scope. */
  scopes: string[];
  /** The one workspace the token is limited to, or null. */
  workspace_id: string | null;
}

export interface App {
  id: string;
  name: string;
  workspace_id: string;
  created_at: string;
}

export interface Workspace {
  id: string;
  name: string;
  /** Set while its events are refused for stopping the engine too often. */
  engine_blocked_at: string | null;
  created_at: string;
}

export type SecretScope = "app" | "workspace" | "global";

export interface SecretEntry {
  name: string;
  scope: SecretScope;
  version: number;
  size: number;
  updated_at: string;
  /** Hosts a host-bound secret may be sent to (scripts only get a placeholder); null when unbound. */
  bound_hosts: string[] | null;
  /** The farther scopes that hold the same name and lose to this one. */
  overrides: SecretScope[];
}

export interface SecretVersion {
  version: number;
  size: number;
  created_at: string;
  created_by: string;
  origin: string;
  bound_hosts: string[] | null;
  current: boolean;
}

export interface ImportReport {
  dry_run: boolean;
  results: { name: string; status: "created" | "updated" | "unchanged"; line: number }[];
  created: number;
  updated: number;
  unchanged: number;
}

export interface Script {
  id: string;
  app_id: string;
  name: string;
  version: number;
  language: "js" | "ts";
  limits: { memory_mb?: number; cpu_ms?: number; wall_ms?: number };
  fresh_context: boolean;
  /** Set while the current version is quarantined (a run of it stopped the engine). */
  quarantine: { version: number; crashed_at: string; run_id: string | null } | null;
  created_at: string;
  updated_at: string;
  source?: string;
}

export type RunStatus = "running" | "ok" | "error" | "timeout" | "oom";
export const RUN_STATUSES: RunStatus[] = ["running", "ok", "error", "timeout", "oom"];

export interface RunError {
  code: string | null;
  name: string;
  message: string;
  stack?: string;
  retry?: unknown;
}

export interface Run {
  id: string;
  app_id: string;
  script_id: string;
  script_version: number;
  trigger_id: string | null;
  event_id: string;
  event_kind: string;
  attempt: number;
  status: RunStatus;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  cpu_ms: number | null;
  error: RunError | null;
  logs?: { at: number; level: string; message: string }[];
  logs_truncated?: boolean;
  result?: unknown;
  /** Every fetch the run made or tried (absent on runs recorded before fetch). */
  subrequests?: Subrequest[];
}

/** One fetch of a run: `url` is scheme://host/path (no query); `outcome` is "ok" or the code it failed with. */
export interface Subrequest {
  method: string;
  url: string;
  status: number | null;
  duration_ms: number;
  bytes: number;
  outcome: string;
}

export type TriggerKind = "http" | "cron" | "dead_letter" | "email" | "connectivity" | "secret_changed";
export const TRIGGER_KINDS: TriggerKind[] = ["email", "http", "cron", "dead_letter", "connectivity", "secret_changed"];

export interface RetryPolicy {
  max_attempts: number;
  backoff: "exponential" | "fixed";
  base_ms: number;
}

export interface Trigger {
  id: string;
  app_id: string;
  script_id: string;
  kind: TriggerKind;
  name: string;
  config: Record<string, unknown>;
  retry: RetryPolicy;
  enabled: boolean;
  /** An http trigger's path, relative to the service. */
  url: string | null;
  created_at: string;
  updated_at: string;
  /** Email triggers: where providers post, and the SMTP address (null when the listener is off). */
  inbound_url?: string;
  smtp_address?: string | null;
  /** Email triggers with signing on: answered once, on create. */
  signing_secret?: string;
}

export interface DeadLetter {
  id: string;
  app_id: string;
  event_id: string;
  script_id: string | null;
  trigger_id: string | null;
  kind: string;
  attempts: number;
  last_error: RunError | null;
  depth: number;
  first_attempt_at: string;
  last_attempt_at: string;
  created_at: string;
  event?: unknown;
  retry?: RetryPolicy;
}

export interface AuditRow {
  id: number;
  at: string;
  actor_type: string;
  actor_id: string | null;
  action: string;
  outcome: string;
  workspace_id: string | null;
  app_id: string | null;
  scope: string | null;
  name: string | null;
  version: number | null;
  details: unknown;
}

export type EmailStatus = "sent" | "captured" | "failed";
export const EMAIL_STATUSES: EmailStatus[] = ["sent", "captured", "failed"];

export interface Email {
  id: string;
  run_id: string | null;
  script_id: string | null;
  status: EmailStatus;
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
  message_id: string | null;
  accepted: string[];
  rejected: string[];
  error: unknown;
  created_at: string;
  text?: string | null;
  html?: string | null;
}

export type ConnectivityStatus = "healthy" | "degraded" | "down";

/** Counts and latency over the status window, and the latest attempt, error and success. */
export interface ConnectivityCounts {
  requests: number;
  errors: number;
  errors_by_code: Record<string, number>;
  p50_ms: number | null;
  p95_ms: number | null;
  last_status: number | null;
  last_error: string | null;
  last_error_at: string | null;
  last_success_at: string | null;
  last_attempt_at: string | null;
}

/** One destination host of an app's fetches, as `GET /api/v1/admin/apps/{appId}/connectivity` lists it. */
export interface HostConnectivity extends ConnectivityCounts {
  host: string;
  status: ConnectivityStatus;
  since: string | null;
  workers: Array<ConnectivityCounts & { worker_id: string }>;
}

export interface AppConnectivity {
  app_id: string;
  window_ms: number;
  as_of: string;
  hosts: HostConnectivity[];
}
