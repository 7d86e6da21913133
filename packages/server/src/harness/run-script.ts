/**
 * One script run on this machine, as production runs it: compiled by the
 * deploy path's compiler, in the same isolated-vm sandbox with the same SDK
 * bootstrap, web runtime and default limits, `fetch` through the egress
 * client under the default egress policy, and `email.send` through the real
 * sender (every address, size and shape check), captured instead of sent.
 * No server, no database: secrets are the ones handed in.
 */
import { createHmac, randomUUID } from "node:crypto";
import { createEgressPolicy, createFetchClient, parseEgressRules, type EgressRule } from "@switchyard/egress";
import { createEmailSender, createMailer, EmailError, type SendLog, type SendRecord } from "@switchyard/email";
import {
  compileScript,
  createExecutor,
  HostError,
  type Diagnostic,
  type Host,
  type LogLine,
  type RunContext,
  type RunError,
  type RunStatus,
  type ScriptLimits,
  type Subrequest,
} from "@switchyard/executor";
import { createRunSecrets } from "../run-secrets.ts";
import { DEFAULT_SERVICE_SETTINGS } from "../services.ts";

export interface RunScriptOptions {
  /** The script's source: one module whose default export handles the event. */
  source: string;
  /** Default: `ts` when `filename` ends in `.ts`, else `js`. */
  language?: "js" | "ts";
  /** The name diagnostics and stack traces show. Default `script.js` / `script.ts`. */
  filename?: string;
  /** The event, as a trigger would deliver it. Default `{ kind: "manual", payload: {} }`. */
  event?: unknown;
  /** What `secrets.get` answers, by name (any JSON). `EMAIL_FROM` and `EGRESS_ALLOWED_HOSTS` act as the app settings of those names. */
  secrets?: Record<string, unknown>;
  /** Per-run limits, as a script's own; clamped to the production maximums. Default: production's defaults. */
  limits?: Partial<ScriptLimits>;
  /** Destinations opened beyond the default egress policy (SWITCHYARD_EGRESS_ALLOW's entries: `127.0.0.1:8080`, `10.0.0.0/8`, `*.internal`). */
  egressAllow?: readonly string[];
  /** The app's name in `ctx.app`. Default `local`. */
  appName?: string;
  /** `ctx.run.attempt`. Default 1. */
  attempt?: number;
}

/** A message the script sent, as the send log would keep it (secret values masked). */
export interface CapturedMail {
  kind: "text" | "html";
  message_id: string | null;
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
  text: string;
  html: string | null;
}

export interface LocalRun {
  /** `compile_error` when the source does not compile (as a deploy would answer 422). */
  status: RunStatus | "compile_error";
  /** The handler's return value (JSON, masked), or null. */
  result: unknown;
  error: RunError | null;
  /** The compiler's diagnostics when `status` is `compile_error`. */
  diagnostics: Diagnostic[];
  logs: LogLine[];
  mail: CapturedMail[];
  subrequests: Subrequest[];
  secretsRead: string[];
  durationMs: number;
  cpuMs: number;
  /** The `ctx` the handler got. */
  ctx: RunContext;
}

const toLimits = (l: { memory_mb: number; cpu_ms: number; wall_ms: number }): ScriptLimits => ({ memoryMb: l.memory_mb, cpuMs: l.cpu_ms, wallMs: l.wall_ms });

/**
 * Runs a script once against an event, with mail captured.
 *
 * @example
 * import { runScript } from "@switchyard/server/harness";
 * const run = await runScript({
 *   source: await readFile("on-invoice.ts", "utf8"),
 *   language: "ts",
 *   event: { kind: "manual", payload: { invoice: 42 } },
 *   secrets: { API_KEY: "test-key" },
 * });
 * assert.equal(run.status, "ok");
 * assert.equal(run.mail[0]?.subject, "Invoice 42");
 */
export async function runScript(options: RunScriptOptions): Promise<LocalRun> {
  const language = options.language ?? (options.filename?.endsWith(".ts") ? "ts" : "js");
  const ctx: RunContext = {
    app: { id: "app_local", name: options.appName ?? "local" },
    trigger: triggerOf(options.event),
    run: { id: `run_local_${randomUUID()}`, attempt: options.attempt ?? 1, event_id: `evt_local_${randomUUID()}` },
  };
  const compiled = await compileScript({ source: options.source, language, filename: options.filename ?? `script.${language}`, maxBytes: DEFAULT_SERVICE_SETTINGS.scriptMaxBytes });
  if (!compiled.ok) {
    const error: RunError = { name: "CompileError", message: compiled.error.message, stack: null, code: compiled.error.code, retry: { kind: "no_retry" } };
    return { status: "compile_error", result: null, error, diagnostics: compiled.error.diagnostics, logs: [], mail: [], subrequests: [], secretsRead: [], durationMs: 0, cpuMs: 0, ctx };
  }

  const secrets = new Map(Object.entries(options.secrets ?? {}));
  const allowedHosts = egressAllowedHosts(secrets.get("EGRESS_ALLOWED_HOSTS"));
  const runs = createRunSecrets();
  const captured: SendRecord[] = [];
  const mailer = createMailer({});
  const sender = createEmailSender({
    mailer,
    defaults: { smtpUrl: null, from: null },
    // No SMTP anywhere: every message that passes the checks is captured.
    captureWhenUnconfigured: true,
    maxBytes: DEFAULT_SERVICE_SETTINGS.emailMaxBytes,
    settingsFor: async () => ({ from: typeof secrets.get("EMAIL_FROM") === "string" ? (secrets.get("EMAIL_FROM") as string) : null }),
    log: memorySendLog(captured),
  });
  const client = createFetchClient({
    policy: createEgressPolicy({ allow: [...(options.egressAllow ?? [])] }),
    maxResponseBytes: DEFAULT_SERVICE_SETTINGS.fetchLimits.maxResponseBytes,
    maxRequestBodyBytes: DEFAULT_SERVICE_SETTINGS.fetchLimits.maxRequestBodyBytes,
    timeoutMs: DEFAULT_SERVICE_SETTINGS.fetchLimits.timeoutMs,
    maxBufferedBytes: DEFAULT_SERVICE_SETTINGS.fetchLimits.maxBufferedBytes,
  });
  const hostFailures: unknown[] = [];
  const host: Host = {
    async getSecret(_ctx, name) {
      const value = secrets.has(name) ? (secrets.get(name) as unknown) : null;
      runs.read(ctx.run.id, name, value);
      return value;
    },
    async signWithSecret(_ctx, name, data, algorithm, encoding) {
      if (!secrets.has(name)) return null;
      const value = secrets.get(name);
      return createHmac(algorithm === "HMAC-SHA512" ? "sha512" : "sha256", typeof value === "string" ? value : JSON.stringify(value))
        .update(data)
        .digest(encoding);
    },
    async listSecrets() {
      return [...secrets.keys()];
    },
    async sendEmail(_ctx, kind, message) {
      const origin = { appId: ctx.app.id, runId: ctx.run.id, eventId: ctx.run.event_id, attempt: ctx.run.attempt, scriptId: null, redact: (text: string) => runs.redact(ctx.run.id, text) };
      try {
        return await sender.send(origin, kind, message);
      } catch (error) {
        if (error instanceof EmailError) throw new HostError(error.code, error.message, error.retryable);
        throw error;
      }
    },
    fetch: (_ctx, request, signal) => client.fetch(request, { signal, ...(allowedHosts ? { allowedHosts } : {}) }),
  };
  const executor = createExecutor({
    host,
    defaultLimits: toLimits(DEFAULT_SERVICE_SETTINGS.scriptDefaults),
    maxLimits: toLimits(DEFAULT_SERVICE_SETTINGS.scriptMax),
    maxSubrequests: DEFAULT_SERVICE_SETTINGS.fetchLimits.maxSubrequests,
    fetchTimeoutMs: DEFAULT_SERVICE_SETTINGS.fetchLimits.timeoutMs,
    poolSize: 1,
    onHostFailure: (error) => hostFailures.push(error),
  });
  const request = {
    script: { id: "script_local", appId: ctx.app.id, version: 1, code: compiled.value.code, sourceMap: compiled.value.sourceMap, freshContext: true, limits: { ...toLimits(DEFAULT_SERVICE_SETTINGS.scriptDefaults), ...options.limits } },
    event: options.event ?? { kind: "manual", payload: {} },
    ctx,
  };
  runs.begin(request);
  try {
    const outcome = await executor.run(request);
    await sender.settle(ctx.run.id);
    // A host failure is a bug here, not the script's: the script saw `internal_error`; the author should see why.
    if (hostFailures.length > 0) throw hostFailures[0];
    return {
      status: outcome.status,
      result: outcome.result,
      error: outcome.error,
      diagnostics: [],
      logs: outcome.logs,
      mail: captured.filter((record) => record.status === "captured").map(mailOf),
      subrequests: outcome.subrequests,
      secretsRead: outcome.secretsRead,
      durationMs: outcome.durationMs,
      cpuMs: outcome.cpuMs,
      ctx,
    };
  } finally {
    runs.end(ctx.run.id);
    await executor.dispose();
    await client.close();
    await mailer.close();
  }
}

/** `ctx.trigger` as production fills it for the event's kind: null for a manual run. */
function triggerOf(event: unknown): RunContext["trigger"] {
  const kind = (event as { kind?: unknown } | null | undefined)?.kind;
  if (typeof kind !== "string" || kind === "manual") return null;
  return { id: "trg_local", kind, name: "local" };
}

/** The app setting EGRESS_ALLOWED_HOSTS as the fetch client's narrowing (a list, or comma-separated text). */
function egressAllowedHosts(value: unknown): EgressRule[] | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "string") return parseEgressRules(value);
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return parseEgressRules(value);
  throw new Error("EGRESS_ALLOWED_HOSTS must be a string or a list of strings");
}

/** The send log in memory: rows kept in order, no earlier sends (every local run is a first attempt's). */
function memorySendLog(rows: SendRecord[]): SendLog {
  return {
    find: async () => null,
    record: async (row) => {
      rows.push(row);
    },
    flush: () => {},
  };
}

function mailOf(record: SendRecord): CapturedMail {
  return {
    kind: record.body?.html === null || record.body?.html === undefined ? "text" : "html",
    message_id: record.messageId,
    from: record.from,
    to: record.to,
    cc: record.cc,
    bcc: record.bcc,
    subject: record.subject,
    text: record.body?.text ?? "",
    html: record.body?.html ?? null,
  };
}
