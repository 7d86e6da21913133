import { acceptInbound, getTriggerById, triggerSecretAad, type Database, type EmailConfig, type Logger, type SecretsService, type Trigger } from "@switchyard/core";
import { verifyWebhook, type WebhookHeaders } from "@switchyard/crypto";
import { InboundError, MinuteLimiter, parseInbound, parseMime, verifyMailgunSignature, type InboundEmail, type InboundLimits, type InboundProvider } from "@switchyard/email";
import { errorBody } from "../http-errors.ts";

export interface InboundAnswer {
  status: 200 | 202 | 400 | 401 | 413 | 415 | 422 | 429;
  body: unknown;
  headers?: Record<string, string>;
}

export interface InboundReceiverOptions {
  database: Database;
  secrets: SecretsService;
  logger: Logger;
  /** SWITCHYARD_EMAIL_MAX_BYTES: the largest message or request accepted. */
  maxBytes: number;
  /** Parsing limits (parts, depth, attachment bytes kept in the event). */
  limits?: Partial<InboundLimits>;
  /** The domain of SMTP trigger addresses (`<trigger id>@domain`), when the listener runs. */
  smtpDomain?: string | null;
  /** How long a trigger read stays cached; the accept statement re-checks it anyway. */
  cacheMs?: number;
}

// Unknown trigger, wrong signature, stale or replayed message: one answer
// for all, so a caller learns nothing about which trigger ids exist.
const UNAUTHORIZED: InboundAnswer = { status: 401, body: errorBody("unauthorized", "unknown trigger or invalid signature") };

/**
 * Inbound email, whichever way it arrives: the webhook route and the SMTP
 * listener both end here. Verifies the caller (Standard Webhooks or
 * Mailgun's HMAC), normalizes the provider's shape, and accepts the message
 * durably in one statement (see acceptInbound).
 */
export function createInboundReceiver(options: InboundReceiverOptions) {
  const { database, secrets, logger } = options;
  const cacheMs = options.cacheMs ?? 5_000;
  const cache = new Map<string, { trigger: Trigger | undefined; until: number }>();
  const limiter = new MinuteLimiter();
  const limits = { ...options.limits, maxBytes: options.maxBytes };

  async function triggerOf(id: string): Promise<Trigger | undefined> {
    const hit = cache.get(id);
    if (hit && hit.until > Date.now()) return hit.trigger;
    // Ids are unguessable, so unknown ones are mostly probes: cached too,
    // briefly, so they cost no more than known ones.
    const trigger = /^trg_[0-9a-z]{1,40}$/.test(id) ? await getTriggerById(database.db, id) : undefined;
    if (cache.size > 10_000) cache.clear();
    cache.set(id, { trigger, until: Date.now() + cacheMs });
    return trigger;
  }

  // Opened secrets by the sealed buffer of the cached trigger read they came
  // from: opened once while that read is cached (5 s), not once per request
  // (an AES-GCM open and a data-key lookup, a tenth of a webhook's CPU). A
  // fresh read brings new buffers, so a rotated secret is opened anew.
  const opened = new WeakMap<Buffer, Promise<string | null>>();

  /** A sealed secret of the trigger, opened; null when it cannot be opened (the caller refuses). */
  function open(trigger: Trigger, sealed: Buffer | null): Promise<string | null> {
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
  async function signingSecrets(trigger: Trigger): Promise<string[] | null> {
    const current = await open(trigger, trigger.secretSealed);
    if (!current) return null;
    const graceful = trigger.secretPreviousSealed && trigger.secretPreviousUntil && trigger.secretPreviousUntil.getTime() > Date.now();
    if (!graceful) return [current];
    const previous = await open(trigger, trigger.secretPreviousSealed);
    // Every accepted secret must open: one that does not is refused, not skipped.
    return previous ? [current, previous] : null;
  }

  async function accept(trigger: Trigger, provider: string, email: InboundEmail, raw: { contentType: string; bytes: Buffer } | null, seen: { webhookId: string | null; mailgunToken: string | null }) {
    return acceptInbound(database.db, {
      trigger,
      provider,
      email: { ...email },
      raw,
      webhookId: seen.webhookId,
      mailgunToken: seen.mailgunToken,
      messageId: email.message_id,
    });
  }

  // `retried`: the trigger is being read afresh, once. `counted`: this request
  // already took its place under the rate limit on the first pass.
  async function receiveOnce(triggerId: string, request: { contentType: string; body: Buffer; headers: WebhookHeaders }, retried: boolean, counted = false): Promise<InboundAnswer> {
    const trigger = await triggerOf(triggerId);
    if (!trigger || trigger.kind !== "email" || !trigger.enabled) return UNAUTHORIZED;
    const config = trigger.config as unknown as EmailConfig;
    const refuse = (reason: string) => {
      logger.warn({ triggerId: trigger.id, reason }, "inbound email refused");
      return UNAUTHORIZED;
    };

    let webhookId: string | null = null;
    if (config.signing === "standard_webhooks") {
      const accepted = await signingSecrets(trigger);
      if (!accepted) return refuse("signing secret unavailable");
      const checked = verifyWebhook({ secrets: accepted, headers: request.headers, body: request.body });
      if (!checked.ok) {
        // The cached trigger may predate a rotation: read it afresh once
        // before refusing, so a new secret works at once.
        if (!retried) {
          cache.delete(trigger.id);
          return receiveOnce(triggerId, request, true);
        }
        return refuse(checked.error);
      }
      webhookId = checked.value.id;
    }

    const waitMs = counted ? 0 : limiter.take(trigger.id, config.rate_limit_per_minute);
    if (waitMs > 0) {
      const seconds = Math.max(1, Math.ceil(waitMs / 1000));
      return { status: 429, body: errorBody("rate_limited", `this trigger accepts ${config.rate_limit_per_minute} messages a minute`, { retry_after_seconds: seconds }), headers: { "Retry-After": String(seconds) } };
    }

    let parsed;
    try {
      parsed = await parseInbound(config.provider as InboundProvider, { contentType: request.contentType, body: request.body, receivedAt: new Date() }, limits);
    } catch (error) {
      if (error instanceof InboundError) return { status: error.status, body: errorBody(error.code, error.message, error.details) };
      throw error;
    }

    let mailgunToken: string | null = null;
    if (config.signing === "mailgun") {
      const key = await open(trigger, trigger.secretSealed);
      if (!key) return refuse("mailgun signing key unavailable");
      if (!parsed.mailgun || !verifyMailgunSignature({ signingKey: key, ...parsed.mailgun })) {
        // As above: the key may have been replaced since the trigger was cached.
        if (!retried) {
          cache.delete(trigger.id);
          return receiveOnce(triggerId, request, true, true);
        }
        return refuse("mailgun signature");
      }
      mailgunToken = parsed.mailgun.token;
    }

    // Kept: the MIME source when the provider sent one, else the provider's
    // own body (its fields are more than the event holds) — but not generic
    // JSON, whose event already is the whole message.
    const raw = parsed.raw
      ? { contentType: "message/rfc822", bytes: parsed.raw }
      : config.provider === "generic"
        ? null
        : { contentType: request.contentType || "application/octet-stream", bytes: request.body };
    const outcome = await accept(trigger, config.provider, parsed.email, raw, { webhookId, mailgunToken });
    switch (outcome.status) {
      case "accepted":
        return { status: 202, body: { event_id: outcome.eventId } };
      case "duplicate":
        return { status: 200, body: { event_id: null, duplicate: true, message_id: parsed.email.message_id } };
      case "replayed":
        return refuse(webhookId ? "webhook-id seen before" : "mailgun token seen before");
      case "trigger_changed":
        cache.delete(trigger.id);
        return retried ? UNAUTHORIZED : receiveOnce(triggerId, request, true, true);
    }
  }

  function smtpReachable(trigger: Trigger): boolean {
    return trigger.kind === "email" && trigger.enabled && (trigger.config as unknown as EmailConfig).signing === "none";
  }

  /** One trigger's share of an SMTP message: rate-limited like webhooks (a 4xx, so the sender retries later). */
  async function acceptSmtp(id: string, email: InboundEmail, raw: Buffer): Promise<boolean> {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const trigger = await triggerOf(id);
      if (!trigger || !smtpReachable(trigger)) return false;
      if (attempt === 0 && limiter.take(trigger.id, (trigger.config as unknown as EmailConfig).rate_limit_per_minute) > 0) {
        throw new Error(`trigger ${trigger.id} is over its rate limit`);
      }
      const outcome = await accept(trigger, "smtp", email, { contentType: "message/rfc822", bytes: raw }, { webhookId: null, mailgunToken: null });
      if (outcome.status !== "trigger_changed") return outcome.status === "accepted" || outcome.status === "duplicate";
      cache.delete(id);
    }
    return false;
  }

  return {
    /** `POST /api/v1/email-inbound/{triggerId}`. The body is the raw bytes as received. */
    async receive(triggerId: string, request: { contentType: string; body: Buffer; headers: WebhookHeaders }): Promise<InboundAnswer> {
      if (request.body.length > options.maxBytes) {
        return { status: 413, body: errorBody("too_large", `the body exceeds ${options.maxBytes} bytes`, { limit: options.maxBytes, size: request.body.length }) };
      }
      return receiveOnce(triggerId, request, false);
    },

    /**
     * The SMTP listener's RCPT TO check: `<trigger id>@<domain>` of an
     * enabled, unsigned email trigger. SMTP carries no signature, so a
     * trigger that requires one never takes mail this way.
     */
    async lookupAddress(address: string): Promise<string | null> {
      const at = address.lastIndexOf("@");
      if (at < 0 || !options.smtpDomain || address.slice(at + 1).toLowerCase() !== options.smtpDomain.toLowerCase()) return null;
      const trigger = await triggerOf(address.slice(0, at).toLowerCase());
      return trigger && smtpReachable(trigger) ? trigger.id : null;
    },

    /**
     * A message the SMTP listener accepted, for each trigger among its
     * recipients. Throws (the sender retries) only when no trigger took it:
     * once one has, a retry would fire that one again.
     */
    async receiveSmtp(message: { targets: string[]; raw: Buffer }): Promise<void> {
      const email = await parseMime(message.raw, new Date(), limits);
      let taken = 0;
      let failure: unknown = null;
      for (const id of message.targets) {
        try {
          if (await acceptSmtp(id, email, message.raw)) taken += 1;
        } catch (error) {
          failure = error;
          logger.warn({ triggerId: id, err: error }, "inbound SMTP message not accepted for a trigger");
        }
      }
      if (taken === 0 && failure) throw failure;
    },

    /** The SMTP address of a trigger, when the listener runs and the trigger can take mail by SMTP. */
    smtpAddress(trigger: Trigger): string | null {
      return options.smtpDomain && smtpReachable(trigger) ? `${trigger.id}@${options.smtpDomain}` : null;
    },
  };
}

export type InboundReceiver = ReturnType<typeof createInboundReceiver>;
