import { InboundError } from "./inbound/errors.ts";
import { connect } from "node:net";
import nodemailer from "nodemailer";
import { afterEach, describe, expect, test } from "vitest";
import { parseMime } from "./inbound/mime.ts";
import { createSmtpListener } from "./smtp-listener.ts";
import type { SmtpListenerOptions } from "./smtp-listener.ts";

type Delivered = Parameters<SmtpListenerOptions["deliver"]>[0];

const ADDRESSES: Record<string, string> = {
  "in@switchyard.test": "trg_1",
  "alias@switchyard.test": "trg_1",
  "other@switchyard.test": "trg_2",
};

const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((listener) => listener.stop()));
});

async function listen(overrides: Partial<SmtpListenerOptions> = {}) {
  const delivered: Delivered[] = [];
  const looked: string[] = [];
  const listener = createSmtpListener({
    host: "127.0.0.1",
    port: 0,
    maxBytes: 64 * 1024,
    lookup: async (address) => {
      looked.push(address);
      return ADDRESSES[address] ?? null;
    },
    deliver: async (message) => {
      delivered.push(message);
    },
    ...overrides,
  });
  running.push(listener);
  const { host, port } = await listener.start();
  const transport = nodemailer.createTransport({ host, port, secure: false, ignoreTLS: true });
  return { delivered, looked, port, transport };
}

/** What a send failed with, as nodemailer reports it. */
async function sendFailure(send: Promise<unknown>): Promise<{ code?: string; responseCode?: number; rejected?: string[] }> {
  const error: unknown = await send.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as { code?: string; responseCode?: number; rejected?: string[] };
}

describe("createSmtpListener", () => {
  test("delivers an accepted message once, to the distinct targets of its recipients, with its raw bytes", async () => {
    const { delivered, looked, transport } = await listen();
    const info = await transport.sendMail({
      from: "Ada <ada@example.com>",
      to: ["In@Switchyard.test", "alias@switchyard.test", "other@switchyard.test"],
      subject: "Über the wire",
      text: "Hello from SMTP",
    });
    expect(info.accepted).toHaveLength(3);
    // Looked up lower-cased, whatever case the sender used.
    expect(looked).toEqual(["in@switchyard.test", "alias@switchyard.test", "other@switchyard.test"]);
    expect(delivered).toHaveLength(1);
    const [message] = delivered as [Delivered];
    expect(message.targets).toEqual(["trg_1", "trg_2"]);
    // nodemailer lower-cases the domain; the local part keeps its case.
    expect(message.envelope).toEqual({ from: "ada@example.com", to: ["In@switchyard.test", "alias@switchyard.test", "other@switchyard.test"] });
    expect(message.remoteAddress).toMatch(/127\.0\.0\.1$/);
    const email = await parseMime(message.raw, new Date());
    expect(email.subject).toBe("Über the wire");
    expect(email.text.trim()).toBe("Hello from SMTP");
    expect(email.message_id).toBe(info.messageId);
  });

  test("refuses an unknown recipient at RCPT TO with 550, and delivers to the known ones only", async () => {
    const { delivered, transport } = await listen();
    const refused = await sendFailure(transport.sendMail({ from: "a@example.com", to: "nobody@switchyard.test", subject: "x", text: "x" }));
    expect(refused.code).toBe("EENVELOPE");
    expect(refused.responseCode).toBe(550);
    expect(refused.rejected).toEqual(["nobody@switchyard.test"]);
    expect(delivered).toHaveLength(0);

    const info = await transport.sendMail({ from: "a@example.com", to: ["nobody@switchyard.test", "other@switchyard.test"], subject: "x", text: "x" });
    expect(info.rejected).toEqual(["nobody@switchyard.test"]);
    expect(info.accepted).toEqual(["other@switchyard.test"]);
    expect(delivered.map((m) => m.targets)).toEqual([["trg_2"]]);
    expect(delivered[0]?.envelope.to).toEqual(["other@switchyard.test"]);
  });

  test("refuses a message over maxBytes with 552 and delivers nothing", async () => {
    const { delivered, transport } = await listen({ maxBytes: 2000 });
    const failure = await sendFailure(transport.sendMail({ from: "a@example.com", to: "in@switchyard.test", subject: "big", text: "x".repeat(5000) }));
    expect(failure.responseCode).toBe(552);
    expect(delivered).toHaveLength(0);
    // A message under the cap on the same listener still goes through.
    await transport.sendMail({ from: "a@example.com", to: "in@switchyard.test", subject: "small", text: "ok" });
    expect(delivered).toHaveLength(1);
  });

  test("answers 451 when deliver throws, so the sender keeps the message and retries", async () => {
    const { transport } = await listen({
      deliver: async () => {
        throw new Error("queue unavailable");
      },
    });
    const failure = await sendFailure(transport.sendMail({ from: "a@example.com", to: "in@switchyard.test", subject: "x", text: "x" }));
    expect(failure.responseCode).toBe(451);
  });

  test("refuses for good (554) a message the receiver can never accept", async () => {
    const { transport } = await listen({
      deliver: async () => {
        throw new InboundError("too_complex", "too many MIME parts", 422);
      },
    });
    const failure = await sendFailure(transport.sendMail({ from: "a@example.com", to: "in@switchyard.test", subject: "x", text: "x" }));
    expect(failure.responseCode).toBe(554);
  });

  test("answers 451 at RCPT TO when the lookup itself fails", async () => {
    const { delivered, transport } = await listen({
      lookup: async () => {
        throw new Error("database down");
      },
    });
    const failure = await sendFailure(transport.sendMail({ from: "a@example.com", to: "in@switchyard.test", subject: "x", text: "x" }));
    expect(failure.responseCode).toBe(451);
    expect(delivered).toHaveLength(0);
  });

  test("counts DATA bytes itself: a client that declares no SIZE still gets 552 after the final dot", async () => {
    const { delivered, port } = await listen({ maxBytes: 2000 });
    const replies = await converse(port, [
      "EHLO client.test",
      "MAIL FROM:<a@example.com>",
      "RCPT TO:<in@switchyard.test>",
      "DATA",
      `Subject: big\r\n\r\n${"x".repeat(76).concat("\r\n").repeat(60)}.`,
      "QUIT",
    ]);
    expect(replies.map((reply) => reply.slice(0, 3))).toEqual(["250", "250", "250", "354", "552", "221"]);
    expect(delivered).toHaveLength(0);
  });

  test("advertises SIZE and offers neither AUTH nor STARTTLS", async () => {
    const { port } = await listen({ maxBytes: 12345 });
    const [ehlo = ""] = await converse(port, ["EHLO client.test", "QUIT"]);
    expect(ehlo).toMatch(/^250[- ]SIZE 12345$/m);
    expect(ehlo).not.toMatch(/AUTH|STARTTLS/);
  });
});

/** Speaks SMTP line by line over a raw socket: each command waits for the previous reply. Answers the replies to the commands. */
function converse(port: number, commands: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const replies: string[] = [];
    let buffer = "";
    let greeted = false;
    socket.setEncoding("utf8");
    socket.on("error", reject);
    socket.on("close", () => resolve(replies));
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      // A reply is complete at a line with a space after its code ("250 OK", not "250-...").
      const end = buffer.search(/^\d{3} .*\r\n/m);
      if (end < 0) return;
      const lineEnd = buffer.indexOf("\r\n", end) + 2;
      const reply = buffer.slice(0, lineEnd).replace(/\r\n/g, "\n").trimEnd();
      buffer = buffer.slice(lineEnd);
      if (greeted) replies.push(reply);
      greeted = true;
      const next = commands[replies.length];
      if (next !== undefined) socket.write(`${next}\r\n`);
    });
  });
}
