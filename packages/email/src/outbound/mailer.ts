import type { Socket } from "node:net";
import tls from "node:tls";
import { connectChecked, type EgressPolicy } from "@switchyard/egress";
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

export interface SendOptions {
  /**
   * The destination policy the connection is opened under (an app's own
   * SMTP server): the server's name is resolved and every address checked
   * on each new connection, and the socket goes only to a checked address.
   * Without it (the operator's own relay) the host is connected to as given.
   */
  egress?: EgressPolicy;
}

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
  // Keyed by the URL and the policy that governs it (none: the operator's
  // relay), so connections opened under one policy never serve another.
  const transports = new Map<string, { transport: Transporter; lastUsed: number; busy: number }>();
  const policyIds = new WeakMap<EgressPolicy, number>();
  let policies = 0;
  const policyId = (policy: EgressPolicy) => {
    let id = policyIds.get(policy);
    if (id === undefined) policyIds.set(policy, (id = ++policies));
    return id;
  };
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

  function transportFor(smtpUrl: string, egress: EgressPolicy | undefined) {
    const key = `${egress ? policyId(egress) : "operator"} ${smtpUrl}`;
    const known = transports.get(key);
    if (known) {
      known.lastUsed = Date.now();
      // Map order doubles as recency for eviction.
      transports.delete(key);
      transports.set(key, known);
      return known;
    }
    const url = assertSmtpUrl(smtpUrl);
    if (transports.size >= maxTransports) {
      // The least recently used idle one; when all are busy the cap gives.
      const idle = [...transports].find(([, entry]) => entry.busy === 0);
      if (idle) close(idle[0]);
    }
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const port = smtpPort(url);
    const transport = nodemailer.createTransport({
      pool: true,
      host,
      port,
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
      // nodemailer asks for each pooled connection's socket here; TLS (smtps
      // or STARTTLS) is then set up over it with the URL's host name, so the
      // certificate is checked against the name, not the address.
      ...(egress ? { getSocket: checkedSocket(egress, host, port, timeoutMs) } : {}),
    });
    const entry = { transport, lastUsed: Date.now(), busy: 0 };
    transports.set(key, entry);
    return entry;
  }

  return {
    /** Sends prepared bytes to the envelope's recipients. Throws EmailError. */
    async send(smtpUrl: string, message: PreparedEmail, sendOptions: SendOptions = {}): Promise<SendResult> {
      const entry = transportFor(smtpUrl, sendOptions.egress);
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

type GetSocket = (options: unknown, callback: (error: Error | null, socketOptions?: { connection: Socket }) => void) => void;

/** nodemailer's getSocket: a connection opened under the policy, or the policy's refusal (classified by smtp-errors). */
function checkedSocket(egress: EgressPolicy, host: string, port: number, timeoutMs: number): GetSocket {
  return (_options, callback) => {
    connectChecked(egress, { host, port, timeoutMs }).then(
      (connection) => callback(null, { connection }),
      (error: Error) => callback(error),
    );
  };
}
