import { createConnectivityRecorder, createConnectivityService, createManualInvoker, createInboundTally, createQueueSampler, createScriptsService, createSecretsService, createSendLog, DEFAULT_ENGINE_CRASH_LIMIT, DEFAULT_STATUS_RULES, NO_EMAIL_LIMITS, readAppEmailSettings, SettingError, type Database, type EmailLimits, type Logger, type StoredLimits } from "@switchyard/core";
import type { Keyring } from "@switchyard/crypto";
import { randomBytes } from "node:crypto";
import { availableParallelism, hostname } from "node:os";
import { createEgressPolicy, createFetchClient, DEFAULT_FETCH_TIMEOUT_MS, DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_MAX_REQUEST_BODY_BYTES, DEFAULT_MAX_RESPONSE_BYTES, type EgressPolicy } from "@switchyard/egress";
import { createEmailSender, createMailer, EmailError, type PlaintextPolicy, type SmtpHostRule } from "@switchyard/email";
import { compileScript, createExecutor } from "@switchyard/executor";
import type { Registry } from "prom-client";
import { endAfterCatastrophe } from "./catastrophe.ts";
import { fetchMetrics } from "./fetch-metrics.ts";
import { isolateMetrics } from "./isolate-metrics.ts";
import { auditBoundSecrets } from "./bound/audit-sink.ts";
import { createBoundSecrets } from "./bound/bound-secrets.ts";
import { createRunSecrets } from "./run-secrets.ts";
import { createScriptFetch } from "./script-fetch.ts";
import { createScriptHost } from "./script-host.ts";
import { createSettledExecutor } from "./settled-executor.ts";
import { createDispatcher, type DispatcherObserver } from "@switchyard/dispatcher";
import { createOperatorWebhooks } from "./operator-webhooks.ts";

export interface ServiceSettings {
  secretMaxBytes: number;
  secretVersionsKept: number;
  secretCacheTtlMs: number;
  scriptMaxBytes: number;
  scriptDefaults: Required<StoredLimits>;
  scriptMax: Required<StoredLimits>;
  /** Most warm isolates kept per process (SWITCHYARD_ISOLATE_POOL); null: bounded by memory alone. */
  isolatePool: number | null;
  /** Memory all warm isolates of the process may hold, in MB (SWITCHYARD_ISOLATE_MEMORY_MB); null: the executor's default. */
  isolateMemoryMb: number | null;
  /** Executor threads (SWITCHYARD_EXECUTOR_THREADS); 0 runs isolates on the main thread (tests of the composition only). */
  executorThreads: number;
  /** Runs in flight per worker process. */
  workerConcurrency: number;
  /** Most events of one app held by workers at once, fleet-wide (SWITCHYARD_APP_CONCURRENCY); null: no cap unless the app sets one. */
  appConcurrency: number | null;
  /** The same for the apps of one workspace (SWITCHYARD_WORKSPACE_CONCURRENCY). */
  workspaceConcurrency: number | null;
  /** Crashed script versions a workspace may cause within 24 h before it is blocked (SWITCHYARD_ENGINE_CRASH_LIMIT); 0: never. */
  engineCrashLimit: number;
  /** How long a claim holds an outbox row without renewal: a dead worker's rows return after it. */
  leaseMs: number;
  /** The operator's outbound SMTP (SWITCHYARD_SMTP_URL) and default sender; null: not configured. */
  smtpUrl: string | null;
  emailFrom: string | null;
  /** Extra PEM certificate authorities trusted for SMTP TLS (SWITCHYARD_SMTP_CA_FILE). */
  smtpCa: string | null;
  /** SMTP servers an app's own SMTP_URL may name, opened in the egress policy for it (SWITCHYARD_SMTP_ALLOWED_HOSTS); null: any the policy allows. */
  smtpAllowedHosts: readonly SmtpHostRule[] | null;
  /** Where scripts' requests and apps' own SMTP servers may connect (SWITCHYARD_EGRESS_ALLOW, SWITCHYARD_EGRESS_DENY). */
  egress: EgressPolicy;
  /** Extra PEM certificate authorities trusted by scripts' fetch, besides the system's (SWITCHYARD_EGRESS_CA_FILE). */
  egressCa: string | null;
  /** Per-run and per-request limits of scripts' fetch (SWITCHYARD_FETCH_*). */
  fetchLimits: FetchLimits;
  /** Email limits for every app, which app, workspace and global secrets may only narrow. */
  emailLimits: EmailLimits;
  /** When smtp:// may stay unencrypted for want of STARTTLS (SWITCHYARD_SMTP_PLAINTEXT). */
  smtpPlaintext: PlaintextPolicy;
  /** Largest message sent or received (SWITCHYARD_EMAIL_MAX_BYTES). */
  emailMaxBytes: number;
  /** Dev mode: with no SMTP, mail is kept in the send log as `captured` instead of failing. */
  captureEmail: boolean;
  /** Health of the APIs scripts fetch: the status rules' window and how often a worker writes its totals (SWITCHYARD_CONNECTIVITY_*). */
  connectivity: { windowMs: number; flushMs: number };
  /** How often a worker samples the outbox for the stats API's queue series (SWITCHYARD_STATS_SAMPLE_MS). */
  statsSampleMs: number;
}

export interface FetchLimits {
  /** Fetches one run may make; the next fails with egress_limit. */
  maxSubrequests: number;
  /** Bytes of one response body, decoded; more fails with egress_too_large. */
  maxResponseBytes: number;
  /** Bytes of one request body; more fails with egress_too_large before anything is sent. */
  maxRequestBodyBytes: number;
  /** Longest one fetch may take, redirects and body included (never past the run's wall clock). */
  timeoutMs: number;
  /** Bytes of response bodies held at once by the process, all runs together; past it a fetch fails with egress_busy. */
  maxBufferedBytes: number;
}

export const DEFAULT_SERVICE_SETTINGS: ServiceSettings = {
  secretMaxBytes: 65_536,
  secretVersionsKept: 20,
  secretCacheTtlMs: 30_000,
  scriptMaxBytes: 1024 * 1024,
  scriptDefaults: { memory_mb: 64, cpu_ms: 5_000, wall_ms: 30_000 },
  scriptMax: { memory_mb: 512, cpu_ms: 60_000, wall_ms: 300_000 },
  isolatePool: null,
  isolateMemoryMb: null,
  executorThreads: availableParallelism(),
  workerConcurrency: 8,
  appConcurrency: null,
  workspaceConcurrency: null,
  engineCrashLimit: DEFAULT_ENGINE_CRASH_LIMIT,
  leaseMs: 15_000,
  smtpUrl: null,
  emailFrom: null,
  smtpCa: null,
  smtpAllowedHosts: null,
  egress: createEgressPolicy(),
  egressCa: null,
  fetchLimits: { maxSubrequests: 50, maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES, maxRequestBodyBytes: DEFAULT_MAX_REQUEST_BODY_BYTES, timeoutMs: DEFAULT_FETCH_TIMEOUT_MS, maxBufferedBytes: DEFAULT_MAX_BUFFERED_BYTES },
  emailLimits: NO_EMAIL_LIMITS,
  smtpPlaintext: "loopback",
  emailMaxBytes: 26_214_400,
  captureEmail: false,
  connectivity: { windowMs: DEFAULT_STATUS_RULES.windowMs, flushMs: 1_000 },
  statsSampleMs: 10_000,
};

/**
 * The composition root's wiring of the domain services, shared by `serve` and
 * the tests, so the tests exercise the same assembly the service runs.
 */
export function createServices(deps: {
  database: Database;
  keyring: Keyring;
  logger: Logger;
  settings?: Partial<ServiceSettings>;
  /** Whether this process runs the outbox (roles `worker` and `all`). */
  worker?: boolean;
  /** Receives the dispatcher's claims and completions (metrics). */
  observer?: DispatcherObserver;
  /** Where the fetch metrics are registered (the /metrics registry). */
  metrics?: Registry;
  /** This process's name in the connectivity rows it writes; default `<hostname>:<pid>:<4 hex>`. */
  workerId?: string;
  /**
   * Asked once when V8 gives up on an isolate: the process must stop, and
   * its exit becomes a SIGKILL (catastrophe.ts). Without it the process
   * keeps serving until its owner stops it.
   */
  requestStop?: () => void;
}) {
  const settings = { ...DEFAULT_SERVICE_SETTINGS, ...deps.settings };
  const { database, logger } = deps;
  const secrets = createSecretsService({
    database,
    keyring: deps.keyring,
    maxBytes: settings.secretMaxBytes,
    versionsKept: settings.secretVersionsKept,
    cacheTtlMs: settings.secretCacheTtlMs,
    logger,
  });
  const scripts = createScriptsService({
    db: database.db,
    compile: compileScript,
    limits: { defaults: settings.scriptDefaults, max: settings.scriptMax },
    maxSourceBytes: settings.scriptMaxBytes,
  });
  const mailer = createMailer({ ca: settings.smtpCa, plaintext: settings.smtpPlaintext });
  const emailSender = createEmailSender({
    mailer,
    defaults: { smtpUrl: settings.smtpUrl, from: settings.emailFrom },
    captureWhenUnconfigured: settings.captureEmail,
    maxBytes: settings.emailMaxBytes,
    allowedSmtpHosts: settings.smtpAllowedHosts,
    egress: settings.egress,
    settingsFor: (origin) =>
      readAppEmailSettings(secrets, origin.appId, { type: "run", id: origin.runId, appId: origin.appId }, settings.emailLimits).catch((error: unknown) => {
        // A setting of the wrong form refuses the send; it never lifts a limit.
        if (error instanceof SettingError) throw new EmailError("not_configured", error.message);
        throw error;
      }),
    log: createSendLog(database.db),
  });
  const runSecrets = createRunSecrets();
  const boundSecrets = createBoundSecrets(auditBoundSecrets(database.db));
  const fetchClient = createFetchClient({
    policy: settings.egress,
    ...(settings.egressCa ? { ca: [settings.egressCa] } : {}),
    maxResponseBytes: settings.fetchLimits.maxResponseBytes,
    maxRequestBodyBytes: settings.fetchLimits.maxRequestBodyBytes,
    timeoutMs: settings.fetchLimits.timeoutMs,
    maxBufferedBytes: settings.fetchLimits.maxBufferedBytes,
  });
  const scriptFetch = createScriptFetch({ client: fetchClient, secrets, logger, bound: boundSecrets });
  const countFetches = deps.metrics ? fetchMetrics(deps.metrics, fetchClient) : null;
  const toLimits = (l: ServiceSettings["scriptMax"]) => ({ memoryMb: l.memory_mb, cpuMs: l.cpu_ms, wallMs: l.wall_ms });
  const sandbox = createExecutor({
    host: createScriptHost({ secrets, email: emailSender, logger, runs: runSecrets, fetch: scriptFetch, bound: boundSecrets }),
    ...(settings.isolatePool !== null ? { poolSize: settings.isolatePool } : {}),
    ...(settings.isolateMemoryMb !== null ? { isolateMemoryMb: settings.isolateMemoryMb } : {}),
    threads: settings.executorThreads,
    // A worker runs up to workerConcurrency runs of one script version at
    // once; with fewer warm contexts kept, each burst builds new ones
    // (measured: about half the CPU of a no-op job in bench/dispatcher).
    contextsPerVersion: Math.max(4, settings.workerConcurrency),
    defaultLimits: toLimits(settings.scriptDefaults),
    maxLimits: toLimits(settings.scriptMax),
    maxSubrequests: settings.fetchLimits.maxSubrequests,
    fetchTimeoutMs: settings.fetchLimits.timeoutMs,
    // A host capability that failed unexpectedly (not a HostError): the run
    // sees a generic error; the operator sees the cause here.
    onHostFailure: (error, info) => logger.error({ err: error, op: info.op, appId: info.ctx.app.id, runId: info.ctx.run.id }, "host call failed"),
    // V8 lost control of an isolate: stop rather than keep serving from a broken process.
    onCatastrophicError: (message) => endAfterCatastrophe(logger, message, deps.requestStop),
  });
  if (deps.metrics) isolateMetrics(deps.metrics, sandbox);
  const connectivityRules = { ...DEFAULT_STATUS_RULES, windowMs: settings.connectivity.windowMs };
  const connectivity = createConnectivityService({ db: database.db, rules: connectivityRules });
  const connectivityRecorder =
    deps.worker === false
      ? null
      : createConnectivityRecorder({
          db: database.db,
          workerId: deps.workerId ?? `${hostname()}:${process.pid}:${randomBytes(2).toString("hex")}`,
          rules: connectivityRules,
          flushMs: settings.connectivity.flushMs,
          logger,
          onChanges: (changes) => {
            for (const c of changes) logger.info({ appId: c.appId, host: c.host, from: c.from, to: c.to, lastError: c.lastError }, "connectivity status changed");
          },
        });
  // A run is over when its email log rows are written too (settled-executor.ts).
  const executor = createSettledExecutor({
    sandbox,
    email: emailSender,
    runs: runSecrets,
    bound: boundSecrets,
    fetch: scriptFetch,
    logger,
    countFetches,
    connectivity: connectivityRecorder,
  });
  const invoker = createManualInvoker({ database, scripts });
  // Secret change webhooks: accepted and delivered under the operator's egress policy; workers deliver.
  const operatorWebhooks = createOperatorWebhooks({ database, secrets, logger, egress: settings.egress, egressCa: settings.egressCa, worker: deps.worker !== false });
  // Stats: every process counts the inbound requests it answers; workers sample the queue.
  const inboundTally = createInboundTally({ db: database.db, logger });
  const queueSampler = deps.worker === false ? null : createQueueSampler({ db: database.db, logger, intervalMs: settings.statsSampleMs });
  const dispatcher = deps.worker === false ? null : createDispatcher({
          database,
          executor,
          scripts,
          logger,
          concurrency: settings.workerConcurrency,
          appConcurrency: settings.appConcurrency,
          workspaceConcurrency: settings.workspaceConcurrency,
          engineCrashLimit: settings.engineCrashLimit,
          leaseMs: settings.leaseMs,
          ...(deps.observer ? { observer: deps.observer } : {}),
        });
  return {
    secrets,
    scripts,
    executor,
    invoker,
    dispatcher,
    connectivity,
    webhooks: operatorWebhooks.service,
    inboundTally,
    queueSampler,
    /** Subscribes to cross-process invalidations and, in a worker, starts claiming. */
    async start() {
      await secrets.start();
      connectivityRecorder?.start();
      inboundTally.start();
      queueSampler?.start();
      await dispatcher?.start();
      await operatorWebhooks.start();
    },
    /** Finishes runs in flight, then releases isolates and listeners. */
    async stop() {
      await dispatcher?.stop();
      await operatorWebhooks.stop();
      // After the last runs: their fetches are written too.
      await connectivityRecorder?.stop();
      await queueSampler?.stop();
      await inboundTally.stop();
      await sandbox.dispose();
      await fetchClient.close();
      await mailer.close();
      await secrets.stop();
    },
  };
}

export type Services = ReturnType<typeof createServices>;
