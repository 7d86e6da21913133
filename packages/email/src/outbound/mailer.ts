import tls from "node:tls";
import nodemailer, { type Transporter } from "nodemailer";
import type { PreparedEmail } from "./message.ts";
import { classifySmtpError } from "./smtp-errors.ts";
import { assertSmtpUrl, isLoopbackHost, smtpPort } from "./smtp-url.ts";

export interface SendResult {
  message_id: string;
  accepted: string[];
  rejected: string[];
}

export interface MailerOptions {
  /** Connections per SMTP server (nodemailer `maxConnections`). */
  maxConnections?: number;
  /** Messages per connection before it is recycled (nodemailer `maxMessages`). */
  maxMessages?: number;
  /** A transport unused this long is closed. */
  idleMs?: number;
  /** Distinct SMTP URLs kept open at once (apps may bring their own). */
  maxTransports?: number;
  /** Socket timeouts, ms. */
  timeoutMs?: number;
  /**
   * Extra certificate authorities (PEM) trusted for SMTP TLS besides the
   * system's, for servers with a private CA. Certificates always verify.
   */
  ca?: string | null;
  /**
   * When an `smtp://` connection may stay unencrypted because the server does
   * not offer STARTTLS: `never`; `loopback` (the default), only to this
   * machine; `always`, anywhere (nodemailer's own default, which lets anyone
   * on the path strip STARTTLS and read the credentials).
   */
  plaintext?: PlaintextPolicy;
}

export type PlaintextPolicy = "never" | "loopback" | "always";

const addressList = (values: unknown[] | undefined) =>
  (values ?? []).map((v) => (typeof v === "string" ? v : (v as { address?: string }).address ?? "")).filter(Boolean);

/**
 * Pooled nodemailer transports, one per SMTP URL (the global one and any an
 * app brings as `SMTP_URL`), opened on first use and closed when idle.
 * `smtp://` upgrades with STARTTLS when the server offers it; `smtps://` is
 * TLS from the first byte (nodemailer's URL handling).
 */
export function createMailer(options: MailerOptions = {}) {
  // `busy`: sends under way; a transport is only ever closed when it has none,
  // or those sends would fail (and be retried) after perhaps going out.
  const transports = new Map<string, { transport: Transporter; lastUsed: number; busy: number }>();
  const idleMs = options.idleMs ?? 5 * 60_000;
  const maxTransports = options.maxTransports ?? 64;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const plaintext = options.plaintext ?? "loopback";
  const plaintextAllowed = (host: string) => plaintext === "always" || (plaintext === "loopback" && isLoopbackHost(host));

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [url, entry] of transports) if (entry.busy === 0 && now - entry.lastUsed > idleMs) close(url);
  }, Math.min(idleMs, 60_000));
  sweep.unref();

  function close(url: string) {
    transports.get(url)?.transport.close();
    transports.delete(url);
  }

  function transportFor(smtpUrl: string) {
    const known = transports.get(smtpUrl);
    if (known) {
      known.lastUsed = Date.now();
      // Map order doubles as recency for eviction.
      transports.delete(smtpUrl);
      transports.set(smtpUrl, known);
      return known;
    }
    const url = assertSmtpUrl(smtpUrl);
    if (transports.size >= maxTransports) {
      // The least recently used idle one; when all are busy the cap gives.
      const idle = [...transports].find(([, entry]) => entry.busy === 0);
      if (idle) close(idle[0]);
    }
    const transport = nodemailer.createTransport({
      pool: true,
      host: url.hostname.replace(/^\[|\]$/g, ""),
      port: smtpPort(url),
      secure: url.protocol === "smtps:",
      requireTLS: url.protocol === "smtp:" && !plaintextAllowed(url.hostname),
      auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
      maxConnections: options.maxConnections ?? 5,
      maxMessages: options.maxMessages ?? 100,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      // No flag turns verification off: a certificate that does not verify
      // is a failed connection. A private CA is added, not substituted.
      tls: { rejectUnauthorized: true, ...(options.ca ? { ca: [...tls.rootCertificates, options.ca] } : {}) },
    });
    const entry = { transport, lastUsed: Date.now(), busy: 0 };
    transports.set(smtpUrl, entry);
    return entry;
  }

  return {
    /** Sends prepared bytes to the envelope's recipients. Throws EmailError. */
    async send(smtpUrl: string, message: PreparedEmail): Promise<SendResult> {
      const entry = transportFor(smtpUrl);
      entry.busy += 1;
      try {
        const info = await entry.transport.sendMail(message.options);
        return { message_id: message.messageId, accepted: addressList(info.accepted), rejected: addressList(info.rejected) };
      } catch (error) {
        throw classifySmtpError(error, smtpUrl);
      } finally {
        entry.busy -= 1;
        entry.lastUsed = Date.now();
      }
    },
    async close() {
      clearInterval(sweep);
      for (const url of [...transports.keys()]) close(url);
    },
  };
}

export type Mailer = ReturnType<typeof createMailer>;
