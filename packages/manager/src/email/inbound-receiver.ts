import { acceptInbound, findUnstorable, findUnstorableText, RetryLaterError, UnauthorizedError, UnstorableInputError, type Database, type Logger, type SecretsService, type SwitchyardError, type TypedTrigger } from "@switchyard/core";
import type { WebhookHeaders } from "@switchyard/crypto";
import { InboundError, MinuteLimiter, parseInbound, parseMime, readMailgunSignature, unsupportedCharacter, verifyMailgunSignature, type InboundEmail, type InboundLimits, type ParsedInbound } from "@switchyard/email";
import type { BodyRead } from "../body-limit.ts";
import { createPublicTriggers, TRIGGER_CHANGED, type PublicTriggers } from "../public-triggers.ts";

type EmailTrigger = Extract<TypedTrigger, { kind: "email" }>;

export interface InboundReceiverOptions {
  database: Database;
  secrets: Pick<SecretsService, "openForApp">;
  logger: Logger;
  /** SWITCHYARD_EMAIL_MAX_BYTES: the largest message or request accepted; a trigger's own cap may be lower. */
  maxBytes: number;
  /** Parsing limits (parts, depth, attachment bytes kept in the event). */
  limits?: Partial<InboundLimits>;
  /** The domain of SMTP trigger addresses (`<trigger id>@domain`), when the listener runs. */
  smtpDomain?: string | null;
  /** How long a trigger read stays cached; the accept statement re-checks it anyway. */
  cacheMs?: number;
}

/** An inbound webhook as the HTTP layer hands it over: the body is read only once the trigger is known, up to its cap. */
export interface InboundRequest {
  contentType: string;
  headers: WebhookHeaders;
  readBody(cap: number): Promise<BodyRead>;
}

export type InboundAccepted = { status: "accepted"; eventId: string } | { status: "duplicate"; messageId: string | null };

/** Every refusal is a coded error; http-errors.ts maps codes to statuses. */
export type InboundResult = { ok: true; value: InboundAccepted } | { ok: false; error: SwitchyardError | InboundError };

type Outcome = InboundResult | typeof TRIGGER_CHANGED;
/** A rate-limit step: the first pass counts the request, a second pass on a fresh read does not count it again. */
type RateStep = (trigger: EmailTrigger) => RetryLaterError | null;

const refused = (): InboundResult => ({ ok: false, error: new UnauthorizedError() });
const failed = (error: SwitchyardError | InboundError): InboundResult => ({ ok: false, error });

/**
 * Inbound email, whichever way it arrives: the webhook route and the SMTP
 * listener both end here. One pipeline: look the trigger up → read the body
 * to the trigger's cap → verify the caller (Standard Webhooks or Mailgun's
 * HMAC) → rate-limit → parse the provider's shape → accept durably in one
 * statement (see acceptInbound).
 */
export function createInboundReceiver(options: InboundReceiverOptions) {
  const { database, logger } = options;
  const triggers = createPublicTriggers({ database, secrets: options.secrets, logger, ...(options.cacheMs !== undefined ? { cacheMs: options.cacheMs } : {}) });
  const limiter = new MinuteLimiter();
  const limits = { ...options.limits, maxBytes: options.maxBytes };

  const asEmail = (trigger: TypedTrigger | undefined): EmailTrigger | undefined => (trigger?.kind === "email" && trigger.enabled ? trigger : undefined);
  const capOf = (trigger: EmailTrigger) => Math.min(trigger.config.max_body_bytes ?? options.maxBytes, options.maxBytes);
  const smtpReachable = (trigger: TypedTrigger | undefined): trigger is EmailTrigger => asEmail(trigger)?.config.signing === "none";

  const refuse = (trigger: EmailTrigger, reason: string): InboundResult => {
    logger.warn({ triggerId: trigger.id, reason }, "inbound email refused");
    return refused();
  };

  const takeRate: RateStep = (trigger) => {
    const perMinute = trigger.config.rate_limit_per_minute;
    const waitMs = limiter.take(trigger.id, perMinute);
    return waitMs > 0 ? new RetryLaterError("rate_limited", `this trigger accepts ${perMinute} messages a minute`, Math.max(1, Math.ceil(waitMs / 1000))) : null;
  };
  const alreadyCounted: RateStep = () => null;

  /** `attempt` on the cached trigger, and once more on a fresh read if it changed meanwhile (counted once). */
  async function onFreshTrigger(trigger: EmailTrigger, attempt: (t: EmailTrigger | undefined, rate: RateStep) => Promise<Outcome>): Promise<InboundResult> {
    const outcome = await triggers.retryIfChanged(trigger, (t, pass) => attempt(asEmail(t), pass === "cached" ? takeRate : alreadyCounted));
    return outcome === TRIGGER_CHANGED ? refused() : outcome;
  }

  /** The caller's proof, checked before anything else of the body is looked at. */
  async function verify(trigger: EmailTrigger, request: InboundRequest, body: Buffer): Promise<{ ok: true; webhookId: string | null; mailgunToken: string | null } | { ok: false; reason: string }> {
    switch (trigger.config.signing) {
      case "none":
        return { ok: true, webhookId: null, mailgunToken: null };
      case "standard_webhooks": {
        const checked = await triggers.verifyStandard(trigger, request.headers, body);
        return checked.ok ? { ok: true, webhookId: checked.webhookId, mailgunToken: null } : checked;
      }
      case "mailgun": {
        const key = await triggers.mailgunKey(trigger);
        if (!key) return { ok: false, reason: "mailgun signing key unavailable" };
        const fields = await readMailgunSignature({ contentType: request.contentType, body }, { ...limits, maxBytes: capOf(trigger) }).catch(() => null);
        if (!fields || !verifyMailgunSignature({ signingKey: key, ...fields })) return { ok: false, reason: "mailgun signature" };
        return { ok: true, webhookId: null, mailgunToken: fields.token };
      }
    }
  }

  async function parse(trigger: EmailTrigger, request: InboundRequest, body: Buffer): Promise<{ ok: true; value: ParsedInbound } | { ok: false; error: InboundError }> {
    try {
      return { ok: true, value: await parseInbound(trigger.config.provider, { contentType: request.contentType, body, receivedAt: new Date() }, { ...limits, maxBytes: capOf(trigger) }) };
    } catch (error) {
      if (error instanceof InboundError) return { ok: false, error };
      throw error;
    }
  }

  /** One pass of the webhook pipeline on a trigger as read (undefined: gone or disabled meanwhile). */
  async function webhookPass(trigger: EmailTrigger | undefined, request: InboundRequest, body: Buffer, rate: RateStep): Promise<Outcome> {
    if (!trigger) return refused();
    const verified = await verify(trigger, request, body);
    if (!verified.ok) return refuse(trigger, verified.reason);
    const limited = rate(trigger);
    if (limited) return failed(limited);
    const parsed = await parse(trigger, request, body);
    if (!parsed.ok) return failed(parsed.error);
    const problem = findUnstorable(parsed.value.email) ?? (verified.mailgunToken === null ? null : findUnstorableText(verified.mailgunToken));
    if (problem) return failed(new UnstorableInputError(problem, "email"));
    // Kept: the MIME source when the provider sent one, else the provider's
    // own body (its fields are more than the event holds) — but not generic
    // JSON, whose event already is the whole message.
    const raw = parsed.value.raw
      ? { contentType: "message/rfc822", bytes: parsed.value.raw }
      : trigger.config.provider === "generic"
        ? null
        : { contentType: request.contentType || "application/octet-stream", bytes: body };
    const email = parsed.value.email;
    const outcome = await acceptInbound(database.db, { trigger, provider: trigger.config.provider, email: { ...email }, raw, webhookId: verified.webhookId, mailgunToken: verified.mailgunToken, messageId: email.message_id });
    switch (outcome.status) {
      case "accepted":
        return { ok: true, value: { status: "accepted", eventId: outcome.eventId } };
      case "duplicate":
        return { ok: true, value: { status: "duplicate", messageId: email.message_id } };
      case "replayed":
        return refuse(trigger, verified.webhookId ? "webhook-id seen before" : "mailgun token seen before");
      case "trigger_changed":
        return TRIGGER_CHANGED;
    }
  }

  /** One trigger's share of an SMTP message: rate-limited like webhooks (a 4xx, so the sender retries later). */
  async function smtpPass(trigger: EmailTrigger | undefined, email: InboundEmail, raw: Buffer, rate: RateStep): Promise<Outcome> {
    if (!smtpReachable(trigger)) return refused();
    const limited = rate(trigger);
    if (limited) throw new Error(`trigger ${trigger.id} is over its rate limit`);
    const outcome = await acceptInbound(database.db, { trigger, provider: "smtp", email: { ...email }, raw: { contentType: "message/rfc822", bytes: raw }, webhookId: null, mailgunToken: null, messageId: email.message_id });
    if (outcome.status === "trigger_changed") return TRIGGER_CHANGED;
    return outcome.status === "replayed" ? refused() : { ok: true, value: outcome.status === "accepted" ? { status: "accepted", eventId: outcome.eventId } : { status: "duplicate", messageId: email.message_id } };
  }

  return {
    /** The cache and signature checks the hooks route shares. */
    triggers: triggers as PublicTriggers,

    /**
     * `POST /api/v1/email-inbound/{triggerId}`. An unknown or disabled
     * trigger is refused after reading at most 64 KiB (for a dummy HMAC);
     * a known one's body is read up to its own cap, and a signed one that
     * cannot read it (cap, budget, deadline) answers that same 401.
     */
    async receive(triggerId: string, request: InboundRequest): Promise<InboundResult> {
      const trigger = asEmail(await triggers.get(triggerId));
      if (!trigger) {
        await triggers.probe(request.headers, request.readBody);
        return refused();
      }
      const body = await request.readBody(capOf(trigger));
      // A signed trigger refuses an unread body as an unknown one would (401).
      if (!body.ok) return failed(triggers.unreadBody(trigger, body.error));
      return onFreshTrigger(trigger, (fresh, rate) => webhookPass(fresh, request, body.value, rate));
    },

    /**
     * The SMTP listener's RCPT TO check: `<trigger id>@<domain>` of an
     * enabled, unsigned email trigger. SMTP carries no signature, so a
     * trigger that requires one never takes mail this way.
     */
    async lookupAddress(address: string): Promise<string | null> {
      const at = address.lastIndexOf("@");
      if (at < 0 || !options.smtpDomain || address.slice(at + 1).toLowerCase() !== options.smtpDomain.toLowerCase()) return null;
      const trigger = await triggers.get(address.slice(0, at).toLowerCase());
      return smtpReachable(trigger) ? trigger.id : null;
    },

    /**
     * A message the SMTP listener accepted, for each trigger among its
     * recipients. Throws (the sender retries) only when no trigger took it:
     * once one has, a retry would fire that one again. A message holding
     * what storage cannot keep is refused for good (InboundError: 554).
     */
    async receiveSmtp(message: { targets: string[]; raw: Buffer }): Promise<void> {
      const email = await parseMime(message.raw, new Date(), limits);
      const problem = findUnstorable(email);
      if (problem) throw unsupportedCharacter(`the message cannot be stored: ${problem.message}`, ["email", problem.path].filter(Boolean).join("."));
      let taken = 0;
      let failure: unknown = null;
      for (const id of message.targets) {
        try {
          const trigger = asEmail(await triggers.get(id));
          const result = trigger ? await onFreshTrigger(trigger, (fresh, rate) => smtpPass(fresh, email, message.raw, rate)) : refused();
          if (result.ok) taken += 1;
        } catch (error) {
          failure = error;
          logger.warn({ triggerId: id, err: error }, "inbound SMTP message not accepted for a trigger");
        }
      }
      if (taken === 0 && failure) throw failure;
    },

    /** The SMTP address of a trigger, when the listener runs and the trigger can take mail by SMTP. */
    smtpAddress(trigger: TypedTrigger): string | null {
      return options.smtpDomain && smtpReachable(trigger) ? `${trigger.id}@${options.smtpDomain}` : null;
    },
  };
}

export type InboundReceiver = ReturnType<typeof createInboundReceiver>;
