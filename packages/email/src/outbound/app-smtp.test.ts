import net from "node:net";
import { createEgressPolicy } from "@switchyard/egress";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSmtpSink, type SmtpSink } from "../testing/smtp-sink.ts";
import { EmailError } from "./errors.ts";
import { createMailer, type Mailer } from "./mailer.ts";
import { createEmailSender, type EmailSenderOptions, type SendRecord } from "./sender.ts";
import { parseSmtpHostRules } from "./smtp-hosts.ts";

const BANNER = "SSH-2.0-OpenSSH_8.9 INTERNAL-BANNER-db01.corp";

/** Something that is not an SMTP server on this machine: it answers every connection with an SSH banner, and counts them. */
async function sshLookalike() {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    socket.on("error", () => {});
    socket.write(`${BANNER}\r\n`);
    setTimeout(() => socket.destroy(), 200);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const message = { to: "a@example.com", from: "app@example.com", subject: "s", text: "t" };
let runs = 0;
const origin = () => ({ appId: "app_1", runId: `run_${++runs}`, eventId: `evt_${runs}`, attempt: 1 });

describe("an app's own SMTP server under the egress policy", () => {
  let banner: Awaited<ReturnType<typeof sshLookalike>>;
  let relay: SmtpSink;
  let mailer: Mailer;
  const rows: SendRecord[] = [];
  const senderWith = (smtpUrl: string | null, extra: Partial<EmailSenderOptions> = {}) =>
    createEmailSender({
      mailer,
      defaults: { smtpUrl: relay.url, from: null },
      captureWhenUnconfigured: false,
      maxBytes: 1_000_000,
      settingsFor: async () => ({ smtpUrl }),
      log: { find: async () => null, record: async (row) => void rows.push(row), flush: () => {} },
      ...extra,
    });
  const failure = async (smtpUrl: string, extra: Partial<EmailSenderOptions> = {}) => {
    const sender = senderWith(smtpUrl, extra);
    const from = origin();
    const error = await sender.send(from, "text", message).then(() => null, (e: unknown) => e);
    await sender.settle(from.runId);
    expect(error).toBeInstanceOf(EmailError);
    return error as EmailError;
  };

  beforeAll(async () => {
    banner = await sshLookalike();
    relay = await startSmtpSink();
    mailer = createMailer({ timeoutMs: 5_000 });
  });
  afterAll(async () => {
    await mailer?.close();
    await banner?.close();
    await relay?.close();
  });

  it("never connects to an internal address in any spelling by default, and answers a fixed message", async () => {
    for (const host of ["127.0.0.1", "2130706433", "0x7f000001", "017700000001", "127.1", "localhost", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]"]) {
      const error = await failure(`smtp://user:pw@${host}:${banner.port}`);
      expect([error.code, error.retryable], host).toEqual(["smtp_host_not_allowed", false]);
      expect(error.message).not.toMatch(/SSH|BANNER|db01/);
    }
    // The operator's relay on this machine is the operator's choice: it is not checked.
    const sender = senderWith(null);
    await expect(sender.send(origin(), "text", message)).resolves.toMatchObject({ accepted: ["a@example.com"] });
    expect(banner.connections()).toBe(0);
  });

  it("keeps what the server said out of the script's error and the send log, for the operator's log only", async () => {
    // The operator opens this machine to apps: the connection is made, and the banner is read.
    const error = await failure(`smtp://127.0.0.1:${banner.port}`, { allowedSmtpHosts: parseSmtpHostRules(`127.0.0.1:${banner.port}`) });
    expect(banner.connections()).toBeGreaterThan(0);
    expect([error.code, error.retryable]).toEqual(["smtp_unavailable", true]);
    expect(error.message).toBe("the SMTP server is unreachable; the run is retried");
    expect(error.detail).toContain("INTERNAL-BANNER-db01.corp");
    const row = rows.at(-1);
    expect(row?.error).toEqual({ code: "smtp_unavailable", message: error.message });
    expect(JSON.stringify(rows)).not.toContain("INTERNAL-BANNER");
  });

  it("opens internal servers through the shared egress policy, and lets its deny rules close the ones allowed", async () => {
    const before = relay.received();
    const sender = senderWith(relay.url, { egress: createEgressPolicy({ allow: ["127.0.0.0/8"] }) });
    await expect(sender.send(origin(), "text", message)).resolves.toMatchObject({ accepted: ["a@example.com"] });
    expect(relay.received()).toBe(before + 1);
    const closed = await failure(relay.url, { egress: createEgressPolicy({ allow: ["127.0.0.0/8"], deny: [`127.0.0.1:${relay.port}`] }), allowedSmtpHosts: parseSmtpHostRules("127.0.0.1") });
    expect(closed.code).toBe("smtp_host_not_allowed");
    expect(relay.received()).toBe(before + 1);
  });
});
