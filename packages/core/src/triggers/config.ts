import { Cron } from "croner";
import { z } from "zod";
import type { RetryPolicy } from "@switchyard/db";
import { ValidationError } from "../errors.ts";
import { NAME_PATTERN, NAME_PATTERN_MESSAGE } from "../secret-events/name-pattern.ts";
import { emailConfigInput, type EmailConfig, type EmailSigning } from "./email-config.ts";
import { standardSecret, type TriggerSecret, type TriggerSigning } from "./signing.ts";

export const TRIGGER_KINDS = ["http", "cron", "dead_letter", "email", "connectivity", "secret_changed"] as const;
export type TriggerKind = (typeof TRIGGER_KINDS)[number];

/** API.md's `retry`: default 3 attempts, exponential, 1000 ms. */
export const retrySchema = z.strictObject({
  max_attempts: z.number().int().min(1).max(100).default(3),
  backoff: z.enum(["exponential", "fixed"]).default("exponential"),
  base_ms: z.number().int().min(10).max(3_600_000).default(1000),
});

const validTimezone = (tz: string) => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

const validSchedule = (schedule: string) => {
  try {
    new Cron(schedule, { paused: true });
    return true;
  } catch {
    return false;
  }
};

/** An http trigger's config as a caller writes it; `signing` is stored as the way of signing. */
const httpConfigInput = z.strictObject({
  max_body_bytes: z.number().int().min(1).max(10 * 1024 * 1024).default(1024 * 1024),
  // Off by default: an unsigned hook's URL (its trigger id) is its credential.
  signing: z.boolean().optional(),
  rotate_signing_secret: z.boolean().optional(),
});

const CONFIG = {
  cron: z.strictObject({
    schedule: z.string().refine(validSchedule, "not a cron expression (5 or 6 fields, e.g. \"*/5 * * * *\")"),
    timezone: z.string().refine(validTimezone, "not an IANA time zone (e.g. \"Europe/Paris\")").default("UTC"),
  }),
  dead_letter: z.strictObject({
    // Empty means any: the handler receives every dead letter of the app.
    source_kinds: z.array(z.enum(["manual", "http", "cron", "email", "connectivity", "secret_changed"])).default([]),
    trigger_ids: z.array(z.string()).default([]),
    script_ids: z.array(z.string()).default([]),
  }),
  // Empty means any: every destination host of the app, every status.
  connectivity: z.strictObject({
    hosts: z.array(z.string().min(1).max(253)).max(100).default([]),
    statuses: z.array(z.enum(["healthy", "degraded", "down"])).default([]),
  }),
  // Empty means any: changes in every scope the app reads (its own, its
  // workspace's, global), to any name. Each scope has one id for an app, so
  // the scope names it.
  secret_changed: z.strictObject({
    scopes: z.array(z.enum(["global", "workspace", "app"])).max(3).default([]),
    names: z.array(z.string().regex(NAME_PATTERN, NAME_PATTERN_MESSAGE)).max(50).default([]),
  }),
};

/** An http trigger's config as stored and shown. */
export interface HttpConfig {
  max_body_bytes: number;
  signing: Extract<TriggerSigning, "standard_webhooks" | "none">;
}
export type CronConfig = z.infer<(typeof CONFIG)["cron"]>;
export type DeadLetterConfig = z.infer<(typeof CONFIG)["dead_letter"]>;
export type ConnectivityConfig = z.infer<(typeof CONFIG)["connectivity"]>;
export type SecretChangedConfig = z.infer<(typeof CONFIG)["secret_changed"]>;

/** A trigger's config split in two: what is stored as `config`, and the verification secret it asks for (none for cron and dead_letter). */
export interface ParsedTriggerConfig {
  config: Record<string, unknown>;
  signing: TriggerSigning;
  secret: TriggerSecret | null;
  rotate: boolean;
}

/** Validates a trigger's kind-specific config; a 400 names the fields that are wrong. */
export function parseTriggerConfig(kind: TriggerKind, config: unknown): ParsedTriggerConfig {
  if (kind === "email") {
    const parsed = parseEmailConfig(config);
    return { config: { ...parsed.config }, signing: parsed.config.signing, secret: parsed.secret, rotate: parsed.rotate };
  }
  if (kind === "http") {
    const parsed = parseHttpConfig(config);
    return { config: { ...parsed.config }, signing: parsed.config.signing, secret: parsed.secret, rotate: parsed.rotate };
  }
  return { config: parseWith<Record<string, unknown>>(kind, CONFIG[kind] as z.ZodType<Record<string, unknown>>, config), signing: "none", secret: null, rotate: false };
}

const signingIssue = (message: string) => new ValidationError(message, { issues: [{ path: "config.signing", message }] });

/** An http trigger's config: optional Standard Webhooks signing, like an email trigger's. */
export function parseHttpConfig(config: unknown): { config: HttpConfig; secret: TriggerSecret; rotate: boolean } {
  const input = parseWith("http", httpConfigInput, config);
  const on = input.signing === true;
  if (input.rotate_signing_secret && !on) throw signingIssue("only a Standard Webhooks signing secret can be rotated");
  return { config: { max_body_bytes: input.max_body_bytes, signing: on ? "standard_webhooks" : "none" }, secret: standardSecret(on), rotate: input.rotate_signing_secret === true };
}

function parseWith<T>(kind: TriggerKind, schema: z.ZodType<T>, config: unknown): T {
  const parsed = schema.safeParse(config ?? {});
  if (!parsed.success) {
    throw new ValidationError(`the ${kind} trigger's config is not valid`, {
      issues: parsed.error.issues.map((i) => ({ path: ["config", ...i.path].join("."), message: i.message })),
    });
  }
  return parsed.data;
}

/**
 * An email trigger's config split in two: what is stored as `config` and the
 * verification secret to seal (a fresh `whsec_`, or the Mailgun key given).
 */
export function parseEmailConfig(config: unknown): { config: EmailConfig; secret: TriggerSecret; rotate: boolean } {
  const input = parseWith("email", emailConfigInput, config);
  const fail = signingIssue;
  let signing: EmailSigning;
  let secret: TriggerSecret;
  if (input.provider === "mailgun") {
    if (!input.mailgun_signing_key) throw fail("a mailgun trigger needs config.mailgun_signing_key (Mailgun's HTTP webhook signing key)");
    if (input.signing === false) throw fail("mailgun posts are always checked with Mailgun's signature");
    signing = "mailgun";
    secret = { value: input.mailgun_signing_key, reveal: false };
  } else {
    if (input.mailgun_signing_key) throw fail("mailgun_signing_key belongs to mailgun triggers only");
    const on = input.signing ?? !(input.provider === "postmark" || input.provider === "sendgrid");
    signing = on ? "standard_webhooks" : "none";
    secret = standardSecret(on);
  }
  if (input.rotate_signing_secret && signing !== "standard_webhooks") throw fail("only a Standard Webhooks signing secret can be rotated");
  const stored: EmailConfig = { provider: input.provider, signing, rate_limit_per_minute: input.rate_limit_per_minute };
  if (input.max_body_bytes !== undefined) stored.max_body_bytes = input.max_body_bytes;
  return { config: stored, secret, rotate: input.rotate_signing_secret === true };
}

export function parseRetry(retry: unknown): RetryPolicy {
  const parsed = retrySchema.safeParse(retry ?? {});
  if (!parsed.success) {
    throw new ValidationError("the retry policy is not valid", {
      issues: parsed.error.issues.map((i) => ({ path: ["retry", ...i.path].join("."), message: i.message })),
    });
  }
  return parsed.data;
}
