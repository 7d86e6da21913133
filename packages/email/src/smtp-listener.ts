import { InboundError } from "./inbound/errors.ts";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerSession } from "smtp-server";

export interface SmtpListenerOptions {
  /** Sessions open at once (each may hold up to maxBytes); default 100. */
  maxClients?: number;
  /** Interface to listen on, e.g. "0.0.0.0" (from SWITCHYARD_SMTP_LISTEN). */
  host: string;
  /** 0 picks an ephemeral port; `start()` answers the real one. */
  port: number;
  /** SIZE extension and hard cap: bigger messages are refused (552). */
  maxBytes: number;
  /** Maps a recipient address (lower-cased) to a target id, or null when unknown: unknown recipients are refused at RCPT TO with 550. */
  lookup(address: string): Promise<string | null>;
  /** Called once per accepted message with the distinct targets of its accepted recipients; an InboundError makes the listener refuse it (554), any other throw answer 451 (temporary) so the sender retries. */
  deliver(message: { targets: string[]; raw: Buffer; envelope: { from: string; to: string[] }; remoteAddress: string }): Promise<void>;
  logger?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** How long `stop()` lets open sessions finish before closing them (default 5000 ms). */
  closeTimeoutMs?: number;
}

/** An SMTP reply for smtp-server: it answers with `responseCode` and the message. */
function reply(responseCode: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode });
}

/**
 * An inbound SMTP listener for `email` triggers: plain SMTP on a port, no
 * AUTH and no STARTTLS (it only accepts mail for its own trigger addresses,
 * like any MX; put TLS in front of it if the network needs it). Each
 * recipient is looked up at RCPT TO, so unknown addresses are refused before
 * any data is sent; the message is read with a byte cap and handed to
 * `deliver` once, for all its targets.
 *
 * @example
 * const smtp = createSmtpListener({
 *   host: "0.0.0.0", port: 2525, maxBytes: 26_214_400,
 *   lookup: async (address) => triggerIdFor(address),
 *   deliver: async ({ targets, raw }) => { for (const id of targets) await enqueueInbound(id, raw); },
 * });
 * const { port } = await smtp.start();
 */
export function createSmtpListener(options: SmtpListenerOptions): { start(): Promise<{ host: string; port: number }>; stop(): Promise<void> } {
  const log = options.logger;
  // Each accepted recipient's target, keyed by the address object smtp-server
  // keeps in the envelope: a RSET or the next transaction drops both together.
  const targets = new WeakMap<SMTPServerAddress, string>();

  const onRcptTo = (address: SMTPServerAddress, session: SMTPServerSession, callback: (error?: Error | null) => void): void => {
    options.lookup(address.address.toLowerCase()).then(
      (target) => {
        if (target === null) {
          log?.info({ session: session.id, remoteAddress: session.remoteAddress }, "smtp recipient refused: unknown address");
          return callback(reply(550, "5.1.1 Recipient address rejected: no such mailbox"));
        }
        targets.set(address, target);
        callback();
      },
      (error: unknown) => {
        log?.warn({ session: session.id, err: error }, "smtp recipient lookup failed");
        callback(reply(451, "4.3.0 Temporary failure looking up the recipient, try again later"));
      },
    );
  };

  const onData = (stream: SMTPServerDataStream, session: SMTPServerSession, callback: (error?: Error | null, message?: string) => void): void => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    stream.on("data", (chunk: Buffer) => {
      size += chunk.length;
      // Past the cap, stop buffering but keep reading: the client only hears
      // the 552 once it has sent the whole message.
      if (over || size > options.maxBytes) {
        over = true;
        chunks.length = 0;
      } else chunks.push(chunk);
    });
    stream.on("error", (error: Error) => {
      log?.warn({ session: session.id, err: error }, "smtp data stream failed");
      callback(reply(451, "4.3.0 Temporary failure reading the message"));
    });
    stream.on("end", () => {
      if (over || stream.sizeExceeded) {
        log?.info({ session: session.id, size, maxBytes: options.maxBytes }, "smtp message refused: too large");
        return callback(reply(552, `5.3.4 Message size exceeds fixed limit of ${options.maxBytes} bytes`));
      }
      const recipients = session.envelope.rcptTo;
      const distinct = [...new Set(recipients.flatMap((rcpt) => targets.get(rcpt) ?? []))];
      const mailFrom = session.envelope.mailFrom;
      const message = {
        targets: distinct,
        raw: Buffer.concat(chunks, size),
        envelope: { from: mailFrom === false ? "" : mailFrom.address, to: recipients.map((rcpt) => rcpt.address) },
        remoteAddress: session.remoteAddress,
      };
      options.deliver(message).then(
        () => {
          log?.info({ session: session.id, targets: distinct, size }, "smtp message accepted");
          callback(null, "2.0.0 OK: queued");
        },
        (error: unknown) => {
          // A message that can never be accepted (InboundError: too large, too
          // complex, malformed) is refused for good; anything else is ours to
          // fix, so the sender is asked to retry.
          if (error instanceof InboundError) {
            log?.warn({ session: session.id, targets: distinct, code: error.code }, "smtp message refused");
            return callback(reply(554, `5.6.0 Message refused: ${error.message}`.slice(0, 300)));
          }
          log?.warn({ session: session.id, targets: distinct, err: error }, "smtp delivery failed; answered 451 so the sender retries");
          callback(reply(451, "4.3.0 Temporary failure, try again later"));
        },
      );
    });
  };

  const server = new SMTPServer({
    banner: "Switchyard inbound mail",
    size: options.maxBytes,
    rejectOversized: true,
    authOptional: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    // A reverse DNS lookup per connection adds latency and a dependency on DNS for nothing we use.
    disableReverseLookup: true,
    logger: false,
    closeTimeout: options.closeTimeoutMs ?? 5000,
    // Each session may buffer up to maxBytes: bound how many run at once.
    maxClients: options.maxClients ?? 100,
    onRcptTo,
    onData,
  });
  // smtp-server emits socket errors here; an EventEmitter without an
  // 'error' listener would throw them and take the process down.
  server.on("error", (error: Error) => log?.warn({ err: error }, "smtp listener error"));

  return {
    start: () =>
      new Promise((resolve, reject) => {
        const failed = (error: Error): void => reject(error);
        server.server.once("error", failed);
        server.listen(options.port, options.host, () => {
          server.server.off("error", failed);
          const address = server.server.address() as AddressInfo;
          log?.info({ host: address.address, port: address.port }, "smtp listener started");
          resolve({ host: address.address, port: address.port });
        });
      }),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
