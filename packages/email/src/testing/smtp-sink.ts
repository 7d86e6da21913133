import type { AddressInfo } from "node:net";
import { SMTPServer, type SMTPServerOptions } from "smtp-server";

export interface SunkMessage {
  from: string;
  to: string[];
  raw: Buffer;
  /** Whether the session was encrypted (TLS from the start, or after STARTTLS). */
  secure: boolean;
}

export interface SmtpSinkOptions {
  /** Recipients the sink refuses at RCPT TO with 550. */
  refuse?: (address: string) => boolean;
  /** Answer every DATA with this SMTP code (e.g. 451 or 554) instead of accepting. */
  failData?: () => number | null;
  /** Keep raw bytes (tests) or only count them (benchmarks). */
  keep?: boolean;
  /** Extra smtp-server options (TLS key/cert, `secure`, auth handler...). */
  server?: Partial<SMTPServerOptions>;
  /** Offer STARTTLS (needs `server.key` and `server.cert`). */
  starttls?: boolean;
}

/**
 * A real SMTP server (smtp-server) on an ephemeral local port that keeps what
 * it receives: what tests and benchmarks send mail to. Not a mock: the client
 * speaks the whole protocol to it.
 */
export async function startSmtpSink(options: SmtpSinkOptions = {}) {
  const messages: SunkMessage[] = [];
  let count = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: options.starttls ? [] : ["STARTTLS"],
    logger: false,
    // Pooled clients keep connections open; do not wait for them on close.
    closeTimeout: 50,
    ...options.server,
    onRcptTo(address, _session, callback) {
      if (options.refuse?.(address.address)) {
        const error = new Error(`mailbox ${address.address} unavailable`) as Error & { responseCode: number };
        error.responseCode = 550;
        return callback(error);
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => {
        if (options.keep !== false) chunks.push(chunk);
      });
      stream.on("end", () => {
        const code = options.failData?.() ?? null;
        if (code) {
          const error = new Error(`refused with ${code}`) as Error & { responseCode: number };
          error.responseCode = code;
          return callback(error);
        }
        count += 1;
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          secure: session.secure,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    url: `${options.server?.secure ? "smtps" : "smtp"}://127.0.0.1:${port}`,
    messages,
    received: () => count,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type SmtpSink = Awaited<ReturnType<typeof startSmtpSink>>;
