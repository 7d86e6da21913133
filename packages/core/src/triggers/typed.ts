import type { triggers } from "@switchyard/db";
import type { ConnectivityConfig, CronConfig, DeadLetterConfig, HttpConfig, SecretChangedConfig } from "./config.ts";
import type { EmailConfig } from "./email-config.ts";
import type { TriggerSigning } from "./signing.ts";

export type Trigger = typeof triggers.$inferSelect;

type Of<K extends Trigger["kind"], C> = Omit<Trigger, "kind" | "config"> & { kind: K; config: C };

/** A trigger whose `config` has its kind's type: narrow on `kind`. */
export type TypedTrigger = Of<"http", HttpConfig> | Of<"email", EmailConfig> | Of<"cron", CronConfig> | Of<"dead_letter", DeadLetterConfig> | Of<"connectivity", ConnectivityConfig> | Of<"secret_changed", SecretChangedConfig>;

/**
 * A stored trigger with its config typed by kind. Configs are validated by
 * zod on every write, so this is the one place that trusts the stored shape;
 * http triggers written before signing existed read as unsigned.
 *
 * @example
 * const t = typedTrigger(row);
 * if (t.kind === "email") limiter.take(t.id, t.config.rate_limit_per_minute);
 */
export function typedTrigger(trigger: Trigger): TypedTrigger {
  if (trigger.kind === "http") {
    const config = trigger.config as Partial<HttpConfig> & { max_body_bytes: number };
    return { ...trigger, kind: "http", config: { max_body_bytes: config.max_body_bytes, signing: config.signing ?? "none" } };
  }
  return trigger as unknown as TypedTrigger;
}

/** How a trigger checks its callers; cron and dead_letter triggers have no callers to check. */
export function signingOf(trigger: TypedTrigger): TriggerSigning {
  return trigger.kind === "http" || trigger.kind === "email" ? trigger.config.signing : "none";
}
