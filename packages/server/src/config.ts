import { availableParallelism } from "node:os";
import { readFileSync } from "node:fs";
import { createEgressPolicy, DEFAULT_FETCH_TIMEOUT_MS, DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_MAX_REQUEST_BODY_BYTES, DEFAULT_MAX_RESPONSE_BYTES, parseEgressRules, type EgressRule } from "@switchyard/egress";
import { parseSmtpHostRules } from "@switchyard/email";
import { DEFAULT_ENGINE_CRASH_LIMIT } from "@switchyard/core";
import type { ServiceSettings } from "./services.ts";
import { z } from "zod";
import { StartupError } from "./startup-error.ts";

const bool = z
  .enum(["1", "0", "true", "false", "yes", "no", "on", "off", ""])
  .transform((v) => ["1", "true", "yes", "on"].includes(v));

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number between ${min} and ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

/** Egress rules (CIDRs, hosts, *.domain, host:port), read by the egress package's own parser. */
const egressRules = z.string().transform((v, ctx): EgressRule[] => {
  try {
    return parseEgressRules(v);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: `${(error as Error).message} (expected e.g. 10.0.0.0/8, mail.internal:2525, *.corp.example)` });
    return z.NEVER;
  }
});

/** An email allowlist: addresses (a@example.com) and domains (@example.com or example.com). */
const emailAllowlist = z
  .string()
  .transform((v) => v.split(/[\s,]+/).filter(Boolean))
  .refine((list) => list.every((e) => /^(@?[^\s@]+\.[^\s@]+|[^\s@]+@[^\s@]+\.[^\s@]+)$/.test(e)), "must list addresses (a@example.com) or domains (@example.com)");

const postgresUrl = z
  .string()
  .refine((v) => /^postgres(ql)?:\/\/./.test(v) && URL.canParse(v), "must be a postgres:// or postgresql:// URL");

/**
 * Every variable Switchyard reads, in one schema (API.md's configuration table).
 * Only this package reads the environment; libraries take these as options.
 */
const schema = z.object({
  SWITCHYARD_DEV: bool.default(false),
  SWITCHYARD_HOST: z.string().min(1).default("127.0.0.1"),
  SWITCHYARD_PORT: int(0, 65535).default(8787),
  SWITCHYARD_DATA_DIR: z.string().min(1).default("./.switchyard"),
  DATABASE_URL: postgresUrl.optional(),
  SWITCHYARD_DB_POOL: int(1, 500).default(10),
  SWITCHYARD_MASTER_KEY: z.string().optional(),
  SWITCHYARD_MASTER_KEYS: z.string().optional(),
  SWITCHYARD_PKCS11_MODULE: z.string().min(1).optional(),
  SWITCHYARD_PKCS11_SLOT: z.string().regex(/^\d{1,20}$/, "must be a slot id, a whole number as the token's tools print it (softhsm2-util --show-slots)").optional(),
  SWITCHYARD_PKCS11_TOKEN_LABEL: z.string().min(1).max(32, "must be at most 32 characters, as PKCS#11 token labels are").optional(),
  SWITCHYARD_PKCS11_KEY_LABEL: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,57}(,[A-Za-z0-9_.-]{1,57})*$/, "must be a key label (1-57 characters of A-Z a-z 0-9 _ . -), or several separated by commas, the first wrapping new data keys")
    .optional(),
  SWITCHYARD_PKCS11_PIN_FILE: z.string().min(1).optional(),
  SWITCHYARD_SECRET_MAX_BYTES: int(1, 16 * 1024 * 1024).default(65536),
  SWITCHYARD_SECRET_VERSIONS: int(1, 1000).default(20),
  SWITCHYARD_SECRET_CACHE_TTL_MS: int(0, 3_600_000).default(30_000),
  SWITCHYARD_SCRIPT_MAX_BYTES: int(1024, 16 * 1024 * 1024).default(1024 * 1024),
  SWITCHYARD_SCRIPT_MEMORY_MB: int(8, 4096).default(64),
  SWITCHYARD_SCRIPT_CPU_MS: int(1, 3_600_000).default(5_000),
  SWITCHYARD_SCRIPT_WALL_MS: int(1, 3_600_000).default(30_000),
  SWITCHYARD_SCRIPT_MAX_MEMORY_MB: int(8, 4096).default(512),
  SWITCHYARD_SCRIPT_MAX_CPU_MS: int(1, 3_600_000).default(60_000),
  SWITCHYARD_SCRIPT_MAX_WALL_MS: int(1, 3_600_000).default(300_000),
  // Warm isolates are bounded by the memory they hold; the count is an optional extra cap.
  SWITCHYARD_ISOLATE_MEMORY_MB: int(16, 1_048_576).optional(),
  SWITCHYARD_ISOLATE_POOL: int(1, 100_000).optional(),
  // Executor threads: each owns a share of the apps' isolates; a looping script stalls its own thread only.
  SWITCHYARD_EXECUTOR_THREADS: int(1, 256).default(availableParallelism()),
  SWITCHYARD_WORKER_CONCURRENCY: int(1, 1000).default(8),
  // Fleet-wide caps on events held by workers at once (running or claimed); unset: none. An app's or workspace's own setting wins.
  SWITCHYARD_APP_CONCURRENCY: int(1, 100_000).optional(),
  SWITCHYARD_WORKSPACE_CONCURRENCY: int(1, 1_000_000).optional(),
  // Runs that stopped the engine (V8 gave up on an isolate) a workspace may cause in 24 h before it is blocked; 0: never blocked.
  SWITCHYARD_ENGINE_CRASH_LIMIT: int(0, 1_000_000).default(DEFAULT_ENGINE_CRASH_LIMIT),
  SWITCHYARD_LEASE_MS: int(500, 3_600_000).default(15_000),
  SWITCHYARD_MAX_BODY_BYTES: int(1024, 64 * 1024 * 1024).default(2 * 1024 * 1024),
  SWITCHYARD_SMTP_URL: z
    .string()
    .refine((v) => /^smtps?:\/\/[^/]/.test(v) && URL.canParse(v), "must be an smtp:// or smtps:// URL, e.g. smtp://user:pass@mail.example.com:587")
    .optional(),
  SWITCHYARD_EMAIL_FROM: z.string().min(3).optional(),
  SWITCHYARD_SMTP_CA_FILE: z.string().min(1).optional(),
  SWITCHYARD_SMTP_PLAINTEXT: z.enum(["never", "loopback", "always"]).default("loopback"),
  SWITCHYARD_SMTP_ALLOWED_HOSTS: z
    .string()
    .transform((v, ctx) => {
      try {
        return parseSmtpHostRules(v);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: `${(error as Error).message} (expected e.g. smtp.sendgrid.net:587, *.mailgun.org)` });
        return z.NEVER;
      }
    })
    .optional(),
  SWITCHYARD_EGRESS_ALLOW: egressRules.optional(),
  SWITCHYARD_EGRESS_DENY: egressRules.optional(),
  SWITCHYARD_EGRESS_CA_FILE: z.string().min(1).optional(),
  SWITCHYARD_FETCH_MAX_SUBREQUESTS: int(0, 10_000).default(50),
  SWITCHYARD_FETCH_MAX_RESPONSE_BYTES: int(1, 1024 * 1024 * 1024).default(DEFAULT_MAX_RESPONSE_BYTES),
  SWITCHYARD_FETCH_MAX_REQUEST_BYTES: int(0, 1024 * 1024 * 1024).default(DEFAULT_MAX_REQUEST_BODY_BYTES),
  SWITCHYARD_FETCH_TIMEOUT_MS: int(1, 3_600_000).default(DEFAULT_FETCH_TIMEOUT_MS),
  SWITCHYARD_FETCH_MAX_BUFFERED_BYTES: int(1024 * 1024, 64 * 1024 * 1024 * 1024).default(DEFAULT_MAX_BUFFERED_BYTES),
  SWITCHYARD_CONNECTIVITY_WINDOW_MS: int(1_000, 3_600_000).default(300_000),
  SWITCHYARD_CONNECTIVITY_FLUSH_MS: int(50, 60_000).default(1_000),
  SWITCHYARD_STATS_SAMPLE_MS: int(100, 60_000).default(10_000),
  SWITCHYARD_EMAIL_ALLOWED_SENDERS: emailAllowlist.optional(),
  SWITCHYARD_EMAIL_ALLOWED_RECIPIENTS: emailAllowlist.optional(),
  SWITCHYARD_EMAIL_RATE_LIMIT_PER_MINUTE: int(1, 1_000_000).optional(),
  SWITCHYARD_SMTP_LISTEN: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:]+):\d{1,5}$/, "must be host:port, e.g. 127.0.0.1:2525")
    .refine((v) => Number(v.slice(v.lastIndexOf(":") + 1)) <= 65535, "the port must be at most 65535")
    .optional(),
  SWITCHYARD_INBOUND_DOMAIN: z
    .string()
    .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i, "must be a domain name, e.g. in.example.com")
    .optional(),
  SWITCHYARD_EMAIL_MAX_BYTES: int(1024, 1024 * 1024 * 1024).default(26_214_400),
  SWITCHYARD_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

/** Variables holding key material: their values never appear in any message. */
const SECRET_VARIABLES = new Set(["SWITCHYARD_MASTER_KEY", "SWITCHYARD_MASTER_KEYS", "DATABASE_URL", "SWITCHYARD_SMTP_URL"]);

/** Everything the environment sets; the service settings are ServiceSettings as the services take them. */
export interface Config extends ServiceSettings {
  dev: boolean;
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  dbPool: number;
  masterKey: string | undefined;
  masterKeys: string | undefined;
  /** The PKCS#11 token holding master keys (SWITCHYARD_PKCS11_*), or null when none is configured. */
  pkcs11: Pkcs11Config | null;
  maxBodyBytes: number;
  /** Inbound SMTP listener address (SWITCHYARD_SMTP_LISTEN), or null when off. */
  smtpListen: { host: string; port: number } | null;
  /** Domain of trigger SMTP addresses (SWITCHYARD_INBOUND_DOMAIN). */
  inboundDomain: string | null;
  logLevel: z.infer<typeof schema>["SWITCHYARD_LOG_LEVEL"];
  /** SWITCHYARD_* variables set but unknown: likely typos, reported as warnings. */
  unknownVariables: string[];
}

/**
 * Parses the environment once at start. An invalid value throws a StartupError
 * naming the variable and what is wrong with it (never a secret's value).
 *
 * @example
 * const config = parseConfig(process.env);
 */
export function parseConfig(env: Record<string, string | undefined>): Config {
  // An empty variable counts as unset, as in most shells' `VAR= cmd` idiom.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? "environment");
      const shown = SECRET_VARIABLES.has(name) || present[name] === undefined ? "" : ` (got ${JSON.stringify(present[name])})`;
      return `${name}: ${issue.message}${shown}`;
    });
    throw new StartupError(`invalid configuration:\n  ${lines.join("\n  ")}`);
  }
  const v = parsed.data;
  if (v.SWITCHYARD_SMTP_LISTEN && !v.SWITCHYARD_INBOUND_DOMAIN) {
    throw new StartupError("invalid configuration:\n  SWITCHYARD_SMTP_LISTEN needs SWITCHYARD_INBOUND_DOMAIN: trigger addresses are <trigger id>@<that domain>");
  }
  const known = new Set(Object.keys(schema.shape));
  const pkcs11 = pkcs11Config(v);
  return {
    dev: v.SWITCHYARD_DEV,
    host: v.SWITCHYARD_HOST,
    port: v.SWITCHYARD_PORT,
    dataDir: v.SWITCHYARD_DATA_DIR,
    databaseUrl: v.DATABASE_URL,
    dbPool: v.SWITCHYARD_DB_POOL,
    masterKey: v.SWITCHYARD_MASTER_KEY,
    masterKeys: v.SWITCHYARD_MASTER_KEYS,
    pkcs11,
    secretMaxBytes: v.SWITCHYARD_SECRET_MAX_BYTES,
    secretVersionsKept: v.SWITCHYARD_SECRET_VERSIONS,
    secretCacheTtlMs: v.SWITCHYARD_SECRET_CACHE_TTL_MS,
    maxBodyBytes: v.SWITCHYARD_MAX_BODY_BYTES,
    scriptMaxBytes: v.SWITCHYARD_SCRIPT_MAX_BYTES,
    scriptDefaults: { memory_mb: v.SWITCHYARD_SCRIPT_MEMORY_MB, cpu_ms: v.SWITCHYARD_SCRIPT_CPU_MS, wall_ms: v.SWITCHYARD_SCRIPT_WALL_MS },
    scriptMax: { memory_mb: v.SWITCHYARD_SCRIPT_MAX_MEMORY_MB, cpu_ms: v.SWITCHYARD_SCRIPT_MAX_CPU_MS, wall_ms: v.SWITCHYARD_SCRIPT_MAX_WALL_MS },
    isolatePool: v.SWITCHYARD_ISOLATE_POOL ?? null,
    isolateMemoryMb: v.SWITCHYARD_ISOLATE_MEMORY_MB ?? null,
    executorThreads: v.SWITCHYARD_EXECUTOR_THREADS,
    workerConcurrency: v.SWITCHYARD_WORKER_CONCURRENCY,
    appConcurrency: v.SWITCHYARD_APP_CONCURRENCY ?? null,
    workspaceConcurrency: v.SWITCHYARD_WORKSPACE_CONCURRENCY ?? null,
    engineCrashLimit: v.SWITCHYARD_ENGINE_CRASH_LIMIT,
    leaseMs: v.SWITCHYARD_LEASE_MS,
    smtpUrl: v.SWITCHYARD_SMTP_URL ?? null,
    emailFrom: v.SWITCHYARD_EMAIL_FROM ?? null,
    smtpCa: readCaFile("SWITCHYARD_SMTP_CA_FILE", v.SWITCHYARD_SMTP_CA_FILE),
    smtpAllowedHosts: v.SWITCHYARD_SMTP_ALLOWED_HOSTS ?? null,
    smtpPlaintext: v.SWITCHYARD_SMTP_PLAINTEXT,
    egress: createEgressPolicy({ allow: v.SWITCHYARD_EGRESS_ALLOW ?? [], deny: v.SWITCHYARD_EGRESS_DENY ?? [] }),
    egressCa: readCaFile("SWITCHYARD_EGRESS_CA_FILE", v.SWITCHYARD_EGRESS_CA_FILE),
    fetchLimits: {
      maxSubrequests: v.SWITCHYARD_FETCH_MAX_SUBREQUESTS,
      maxResponseBytes: v.SWITCHYARD_FETCH_MAX_RESPONSE_BYTES,
      maxRequestBodyBytes: v.SWITCHYARD_FETCH_MAX_REQUEST_BYTES,
      timeoutMs: v.SWITCHYARD_FETCH_TIMEOUT_MS,
      maxBufferedBytes: v.SWITCHYARD_FETCH_MAX_BUFFERED_BYTES,
    },
    connectivity: { windowMs: v.SWITCHYARD_CONNECTIVITY_WINDOW_MS, flushMs: v.SWITCHYARD_CONNECTIVITY_FLUSH_MS },
    statsSampleMs: v.SWITCHYARD_STATS_SAMPLE_MS,
    emailLimits: {
      allowedSenders: v.SWITCHYARD_EMAIL_ALLOWED_SENDERS ?? null,
      allowedRecipients: v.SWITCHYARD_EMAIL_ALLOWED_RECIPIENTS ?? null,
      ratePerMinute: v.SWITCHYARD_EMAIL_RATE_LIMIT_PER_MINUTE ?? null,
    },
    emailMaxBytes: v.SWITCHYARD_EMAIL_MAX_BYTES,
    captureEmail: v.SWITCHYARD_DEV,
    smtpListen: listenAddress(v.SWITCHYARD_SMTP_LISTEN),
    inboundDomain: v.SWITCHYARD_INBOUND_DOMAIN?.toLowerCase() ?? null,
    logLevel: v.SWITCHYARD_LOG_LEVEL,
    unknownVariables: Object.keys(present).filter(
      (k) => k.startsWith("SWITCHYARD_") && !known.has(k) && !CLIENT_VARIABLES.has(k),
    ),
  };
}

/** Where the HSM's master keys are; the PIN stays in its file until the keys are loaded. */
export interface Pkcs11Config {
  module: string;
  slot: bigint | undefined;
  tokenLabel: string | undefined;
  /** The first wraps new data keys; all unwrap. */
  keyLabels: string[];
  pinFile: string;
}

/** SWITCHYARD_PKCS11_*: all or nothing, and exactly one of the slot and the token label. */
function pkcs11Config(v: z.infer<typeof schema>): Pkcs11Config | null {
  const set = (["SWITCHYARD_PKCS11_MODULE", "SWITCHYARD_PKCS11_SLOT", "SWITCHYARD_PKCS11_TOKEN_LABEL", "SWITCHYARD_PKCS11_KEY_LABEL", "SWITCHYARD_PKCS11_PIN_FILE"] as const).filter((name) => v[name] !== undefined);
  if (set.length === 0) return null;
  const missing = (["SWITCHYARD_PKCS11_MODULE", "SWITCHYARD_PKCS11_KEY_LABEL", "SWITCHYARD_PKCS11_PIN_FILE"] as const).filter((name) => v[name] === undefined);
  if (missing.length > 0) {
    throw new StartupError(`invalid configuration:\n  ${missing.join(", ")}: needed with ${set.join(", ")} (a PKCS#11 token needs its module, key label and PIN file)`);
  }
  if ((v.SWITCHYARD_PKCS11_SLOT === undefined) === (v.SWITCHYARD_PKCS11_TOKEN_LABEL === undefined)) {
    throw new StartupError("invalid configuration:\n  SWITCHYARD_PKCS11_SLOT, SWITCHYARD_PKCS11_TOKEN_LABEL: set exactly one to choose the token");
  }
  return {
    module: v.SWITCHYARD_PKCS11_MODULE!,
    slot: v.SWITCHYARD_PKCS11_SLOT === undefined ? undefined : BigInt(v.SWITCHYARD_PKCS11_SLOT),
    tokenLabel: v.SWITCHYARD_PKCS11_TOKEN_LABEL,
    keyLabels: v.SWITCHYARD_PKCS11_KEY_LABEL!.split(","),
    pinFile: v.SWITCHYARD_PKCS11_PIN_FILE!,
  };
}

/** A PEM file of extra certificate authorities (for SMTP or fetch), read once at start. */
function readCaFile(variable: string, path: string | undefined): string | null {
  if (!path) return null;
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (error) {
    throw new StartupError(`invalid configuration:\n  ${variable}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) throw new StartupError(`invalid configuration:\n  ${variable}: ${path} holds no PEM certificate`);
  return pem;
}

function listenAddress(value: string | undefined): { host: string; port: number } | null {
  if (!value) return null;
  const at = value.lastIndexOf(":");
  return { host: value.slice(0, at).replace(/^\[|\]$/g, ""), port: Number(value.slice(at + 1)) };
}

/** Read by the CLI verbs that talk to a running service, not by the service itself. */
const CLIENT_VARIABLES = new Set(["SWITCHYARD_URL", "SWITCHYARD_TOKEN"]);
