import { generateWebhookSecret, verifyWebhook, type WebhookHeaders } from "@switchyard/crypto";
import type { Context } from "hono";
import type { BodyRead } from "./body-limit.ts";
import { getTriggerById, signingOf, TRIGGERS_CHANNEL, triggerSecretAad, typedTrigger, UnauthorizedError, type Database, type Logger, type SecretsService, type SwitchyardError, type TypedTrigger } from "@switchyard/core";

export interface PublicTriggersOptions {
  database: Database;
  secrets: Pick<SecretsService, "openForApp">;
  logger: Logger;
  /** How long a trigger read stays cached; changes also evict it at once (NOTIFY on TRIGGERS_CHANNEL). */
  cacheMs?: number;
}

const TRIGGER_ID = /^trg_[0-9a-z]{1,40}$/;

/** An attempt's answer when the accept statement found the trigger changed since it was cached. */
export const TRIGGER_CHANGED = Symbol("trigger changed since it was cached");

/** How much of an unknown trigger's body is read, for the same HMAC work a known trigger's refusal costs. */
export const PROBE_BYTES = 64 * 1024;

/**
 * What the public endpoints (hooks, inbound email, SMTP) share: triggers by
 * id from a short cache, and their signature checks. A refused signature
 * changes nothing here (no eviction, no database read, no unseal), and an
 * unknown trigger costs the same HMAC as a known one with a bad signature,
 * so neither timing nor load tells known ids from unknown ones.
 */
export function createPublicTriggers(options: PublicTriggersOptions) {
  const { database, secrets, logger } = options;
  const cacheMs = options.cacheMs ?? 5_000;
  const cache = new Map<string, { trigger: TypedTrigger | undefined; until: number }>();
  // Compared against when there is no trigger: the same work as a real check, never a match.
  const dummySecret = generateWebhookSecret();
  let listening: Promise<unknown> | null = null;

  // Another process's change arrives by NOTIFY; the cache TTL covers a lost one.
  function listen(): void {
    listening ??= database.listen(TRIGGERS_CHANNEL, (id) => cache.delete(id)).catch((error: unknown) => {
      logger.warn({ err: error }, "cannot listen for trigger changes; cached triggers expire by age only");
    });
  }

  // Opened secrets by the sealed buffer of the cached trigger read they came
  // from: opened once while that read is cached, not once per request (an
  // AES-GCM open and a data-key lookup). A fresh read brings new buffers,
  // so a rotated secret is opened anew.
  const opened = new WeakMap<Buffer, Promise<string | null>>();

  /** A sealed secret of the trigger, opened; null when it cannot be opened (the caller refuses). */
  function open(trigger: TypedTrigger, sealed: Buffer | null): Promise<string | null> {
    if (!sealed) return Promise.resolve(null);
    let secret = opened.get(sealed);
    if (!secret) {
      secret = secrets.openForApp(trigger.appId, triggerSecretAad(trigger.id), sealed).then(
        (bytes) => bytes.toString("utf8"),
        // Logged by the secrets service; fail closed.
        () => null,
      );
      opened.set(sealed, secret);
    }
    return secret;
  }

  /** The secrets a signature may match: the current one and, during a rotation's grace period, the previous one. */
  async function signingSecrets(trigger: TypedTrigger): Promise<string[] | null> {
    const current = await open(trigger, trigger.secretSealed);
    if (!current) return null;
    const graceful = trigger.secretPreviousSealed && trigger.secretPreviousUntil && trigger.secretPreviousUntil.getTime() > Date.now();
    if (!graceful) return [current];
    const previous = await open(trigger, trigger.secretPreviousSealed);
    // Every accepted secret must open: one that does not is refused, not skipped.
    return previous ? [current, previous] : null;
  }

  /** An enabled or disabled trigger by id; undefined for ids that are not (probes are cached too, briefly). */
  async function get(id: string): Promise<TypedTrigger | undefined> {
    listen();
    const hit = cache.get(id);
    if (hit && hit.until > Date.now()) return hit.trigger;
    const row = TRIGGER_ID.test(id) ? await getTriggerById(database.db, id) : undefined;
    const trigger = row ? typedTrigger(row) : undefined;
    if (cache.size > 10_000) cache.clear();
    cache.set(id, { trigger, until: Date.now() + cacheMs });
    return trigger;
  }

  return {
    get,

    /** Drops a cached trigger: this process changed it (others hear the NOTIFY). */
    forget(id: string): void {
      cache.delete(id);
    },

    /**
     * Runs `attempt` on `trigger` as cached; when it answers TRIGGER_CHANGED
     * (the accept statement found the trigger changed since), reads the
     * trigger afresh and runs `attempt` once more ("fresh" pass: a request
     * is not counted against a rate limit twice). TRIGGER_CHANGED twice
     * stays TRIGGER_CHANGED, for the caller to refuse.
     */
    async retryIfChanged<T>(trigger: TypedTrigger, attempt: (t: TypedTrigger | undefined, pass: "cached" | "fresh") => Promise<T | typeof TRIGGER_CHANGED>): Promise<T | typeof TRIGGER_CHANGED> {
      const first = await attempt(trigger, "cached");
      if (first !== TRIGGER_CHANGED) return first;
      cache.delete(trigger.id);
      return attempt(await get(trigger.id), "fresh");
    },

    /** Standard Webhooks check against the trigger's secrets; the `webhook-id` on success. */
    async verifyStandard(trigger: TypedTrigger, headers: WebhookHeaders, body: Uint8Array): Promise<{ ok: true; webhookId: string } | { ok: false; reason: string }> {
      const accepted = await signingSecrets(trigger);
      if (!accepted) return { ok: false, reason: "signing secret unavailable" };
      const checked = verifyWebhook({ secrets: accepted, headers, body });
      return checked.ok ? { ok: true, webhookId: checked.value.id } : { ok: false, reason: checked.error };
    },

    /** For an unknown trigger: reads at most PROBE_BYTES and spends a dummy HMAC on them, the work a refused known one costs. */
    async probe(headers: WebhookHeaders, readBody: (cap: number) => Promise<BodyRead>): Promise<void> {
      const read = await readBody(PROBE_BYTES);
      verifyWebhook({ secrets: [dummySecret], headers, body: read.ok ? read.value : new Uint8Array(0) });
    },

    /**
     * What to answer for a known trigger's body that could not be read (over
     * the trigger's cap, the budget spent, not whole by its deadline), before
     * the caller's proof could be checked. A trigger that checks its callers
     * answers exactly what an unknown one does (401: `probe` reads at most
     * PROBE_BYTES and refuses whatever happened), so no 413, 503 or 408 can
     * tell a prober that the id exists or what its cap is. An unsigned
     * trigger's URL is its credential: whoever has it may learn why.
     */
    unreadBody(trigger: TypedTrigger, error: Exclude<BodyRead, { ok: true }>["error"]): SwitchyardError {
      if (signingOf(trigger) === "none") return error;
      logger.warn({ triggerId: trigger.id, reason: error.code }, "public request refused before its signature could be checked");
      return new UnauthorizedError();
    },

    /** The Mailgun signing key of a mailgun trigger; null when it does not open. */
    mailgunKey(trigger: TypedTrigger): Promise<string | null> {
      return open(trigger, trigger.secretSealed);
    },

    /** Stops listening for changes (the database's close does too). */
    async close(): Promise<void> {
      const stop = await listening;
      if (typeof stop === "function") await (stop as () => Promise<void>)();
      listening = null;
    },
  };
}

export type PublicTriggers = ReturnType<typeof createPublicTriggers>;

/** The Standard Webhooks headers of a request. */
export const webhookHeaders = (c: Context): WebhookHeaders => ({ id: c.req.header("webhook-id"), timestamp: c.req.header("webhook-timestamp"), signature: c.req.header("webhook-signature") });
