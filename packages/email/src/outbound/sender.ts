import { createHash } from "node:crypto";
import { createEgressPolicy, type EgressPolicy } from "@switchyard/egress";
import { EmailError } from "./errors.ts";
import type { Mailer, SendResult } from "./mailer.ts";
import { prepareEmail, type EmailKind, type PreparedEmail } from "./message.ts";
import { MinuteLimiter } from "./rate-limit.ts";
import { assertSmtpHostAllowed, smtpRuleEntry, type SmtpHostRule } from "./smtp-hosts.ts";

/** An app's email settings; each null falls back to the operator's. */
export interface AppEmailSettings {
  smtpUrl: string | null;
  from: string | null;
  allowedSenders: string[] | null;
  allowedRecipients: string[] | null;
  ratePerMinute: number | null;
}

/** Who is sending: the run, for the log and the idempotency key. */
export interface SendOrigin {
  appId: string;
  runId: string;
  eventId: string;
  /** The run's attempt: the first attempt of an event cannot have sent anything before. */
  attempt: number;
  /** The script the run runs, recorded with each send. */
  scriptId?: string | null;
  /**
   * Masks the secret values the run has read: the subject and (captured)
   * body are stored through it, as the run's own logs are.
   */
  redact?: (text: string) => string;
}

export interface SendRecord {
  appId: string;
  runId: string;
  scriptId: string | null;
  status: "sent" | "captured" | "failed";
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
  messageId: string | null;
  accepted: string[];
  rejected: string[];
  error: { code: string; message: string } | null;
  size: number;
  body: { text: string; html: string | null } | null;
  idempotencyKey: string | null;
}

export interface SendLog {
  /** The answer of an earlier successful send with this key, if any. */
  find(appId: string, idempotencyKey: string): Promise<SendResult | null>;
  /** Resolves once the row is durable; the log may hold it back a little to write it with others. */
  record(entry: SendRecord): Promise<void>;
  /** Writes whatever rows are held back now: a run is settling on them. */
  flush(): void;
}

export interface EmailSenderOptions {
  mailer: Mailer;
  /** The operator's SMTP URL and default sender (SWITCHYARD_SMTP_URL, SWITCHYARD_EMAIL_FROM). */
  defaults: { smtpUrl: string | null; from: string | null };
  /** Dev mode: with no SMTP anywhere, keep the message in the log instead of failing. */
  captureWhenUnconfigured: boolean;
  maxBytes: number;
  /**
   * SMTP servers an app's own SMTP_URL may name (SWITCHYARD_SMTP_ALLOWED_HOSTS);
   * null: any, as far as the egress policy lets it. Those named are opened
   * in the policy too, so an operator can list an internal relay.
   */
  allowedSmtpHosts?: readonly SmtpHostRule[] | null;
  /**
   * The destination policy an app's own SMTP server is reached under (the
   * one `fetch` uses): internal addresses refused unless opened. The
   * operator's SWITCHYARD_SMTP_URL is the operator's choice and not checked.
   * Default: the default policy.
   */
  egress?: EgressPolicy;
  settingsFor(origin: SendOrigin): Promise<Partial<AppEmailSettings>>;
  log: SendLog;
}

/**
 * `email.send` / `email.sendHtml` end to end: the app's settings over the
 * operator's, the message checked and built, the per-app rate limit, then
 * SMTP (or dev capture), and one log row whatever happened.
 *
 * A retried run that sends the same message again (same event, same content,
 * same position among its identical sends) is answered from the first send's
 * log row: at-least-once runs, but mail goes out once.
 */
export function createEmailSender(options: EmailSenderOptions) {
  const limiter = new MinuteLimiter();
  const appSmtpEgress = (options.egress ?? createEgressPolicy()).with({ allow: (options.allowedSmtpHosts ?? []).map(smtpRuleEntry) });
  // Per run until it settles: its sends still under way (a send may outlive
  // the run that started it, e.g. past its wall-clock limit), their log
  // writes (a send answers the script as soon as SMTP has), how many
  // times each message digest was sent, for the ordinal; and the app's
  // settings, read once per run (a change applies from the next run).
  const runs = new Map<string, { sends: Set<Promise<unknown>>; writes: Promise<void>[]; ordinals: Map<string, number>; settings: Promise<Partial<AppEmailSettings>> | null }>();
  const runOf = (runId: string) => {
    let run = runs.get(runId);
    if (!run) {
      run = { sends: new Set(), writes: [], ordinals: new Map(), settings: null };
      runs.set(runId, run);
    }
    return run;
  };

  function idempotencyKey(origin: SendOrigin, kind: EmailKind, input: unknown): string {
    const digest = createHash("sha256").update(`${origin.eventId}\n${kind}\n${JSON.stringify(input)}`).digest("base64url");
    const { ordinals } = runOf(origin.runId);
    const ordinal = (ordinals.get(digest) ?? 0) + 1;
    ordinals.set(digest, ordinal);
    return `${digest}.${ordinal}`;
  }

  /** The app's settings for this run; a failed read is not kept, so the next send tries again. */
  function settingsOf(origin: SendOrigin): Promise<Partial<AppEmailSettings>> {
    const run = runOf(origin.runId);
    if (!run.settings) {
      const reading = options.settingsFor(origin);
      run.settings = reading;
      reading.catch(() => {
        if (run.settings === reading) run.settings = null;
      });
    }
    return run.settings;
  }

  function record(origin: SendOrigin, message: PreparedEmail, fields: Pick<SendRecord, "status" | "accepted" | "rejected" | "error" | "body" | "idempotencyKey" | "messageId">) {
    const redact = origin.redact ?? ((text: string) => text);
    const write = options.log.record({
      appId: origin.appId,
      runId: origin.runId,
      scriptId: origin.scriptId ?? null,
      from: message.from,
      to: message.to,
      cc: message.cc,
      bcc: message.bcc,
      subject: redact(message.subject),
      size: message.size,
      ...fields,
      body: fields.body && { text: redact(fields.body.text), html: fields.body.html === null ? null : redact(fields.body.html) },
    });
    // Kept to be awaited by settle; never an unhandled rejection meanwhile.
    write.catch(() => {});
    runOf(origin.runId).writes.push(write);
  }

  async function send(origin: SendOrigin, kind: EmailKind, input: unknown): Promise<SendResult> {
    const settings = await settingsOf(origin);
    // Checked before anything else is done with the URL: a refused host is never connected to.
    if (settings.smtpUrl && options.allowedSmtpHosts) assertSmtpHostAllowed(options.allowedSmtpHosts, settings.smtpUrl);
    const smtpUrl = settings.smtpUrl ?? options.defaults.smtpUrl;
    const capture = !smtpUrl && options.captureWhenUnconfigured;
    if (!smtpUrl && !capture) throw new EmailError("not_configured", "email is not configured: set SWITCHYARD_SMTP_URL, or the app secret SMTP_URL");
    const message = await prepareEmail(kind, input, {
      defaultFrom: settings.from ?? options.defaults.from ?? (capture ? "switchyard@dev.localhost" : null),
      maxBytes: options.maxBytes,
      allowedSenders: settings.allowedSenders ?? null,
      allowedRecipients: settings.allowedRecipients ?? null,
    });
    const key = idempotencyKey(origin, kind, input);
    // Only a retry can find an earlier send of this event: attempt 1 skips the lookup.
    const earlier = origin.attempt > 1 ? await options.log.find(origin.appId, key) : null;
    if (earlier) return earlier;

    const limit = settings.ratePerMinute;
    const waitMs = limit ? limiter.take(origin.appId, limit) : 0;
    if (waitMs > 0) {
      const error = new EmailError("rate_limited", `this app may send ${limit} messages a minute; try again in ${Math.ceil(waitMs / 1000)} s`, true);
      record(origin, message, { status: "failed", messageId: null, accepted: [], rejected: [], error: { code: error.code, message: error.message }, body: null, idempotencyKey: null });
      throw error;
    }
    if (capture) {
      const everyone = [...message.to, ...message.cc, ...message.bcc];
      record(origin, message, { status: "captured", messageId: message.messageId, accepted: everyone, rejected: [], error: null, body: { text: message.text, html: message.html }, idempotencyKey: key });
      return { message_id: message.messageId, accepted: everyone, rejected: [] };
    }
    try {
      const result = await options.mailer.send(smtpUrl as string, message, settings.smtpUrl ? { egress: appSmtpEgress } : {});
      record(origin, message, { status: "sent", messageId: result.message_id, accepted: result.accepted, rejected: result.rejected, error: null, body: null, idempotencyKey: key });
      return result;
    } catch (error) {
      const failure = error instanceof EmailError ? error : new EmailError("smtp_unavailable", "sending failed", true);
      record(origin, message, { status: "failed", messageId: null, accepted: [], rejected: [], error: { code: failure.code, message: failure.message }, body: null, idempotencyKey: null });
      throw failure;
    }
  }

  return {
    send(origin: SendOrigin, kind: EmailKind, input: unknown): Promise<SendResult> {
      const { sends } = runOf(origin.runId);
      const sending = send(origin, kind, input);
      const tracked: Promise<unknown> = sending.then(
        (): boolean => sends.delete(tracked),
        (): boolean => sends.delete(tracked),
      );
      sends.add(tracked);
      return sending;
    },

    /**
     * Call when a run ends, before its outcome is recorded: waits for the
     * sends it started (one may still be talking to SMTP after the run timed
     * out) and for their log rows. Throws when a row could not be written:
     * the run must then not count as done, or a retry would not know the
     * mail already went out.
     */
    async settle(runId: string): Promise<void> {
      const run = runs.get(runId);
      if (!run) return;
      while (run.sends.size > 0) await Promise.all([...run.sends]);
      runs.delete(runId);
      if (run.writes.length > 0) options.log.flush();
      await Promise.all(run.writes);
    },
  };
}

export type EmailSender = ReturnType<typeof createEmailSender>;
