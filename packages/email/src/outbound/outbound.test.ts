import { simpleParser } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSmtpSink, type SmtpSink } from "../testing/smtp-sink.ts";
import { EmailError } from "./errors.ts";
import { createMailer, type Mailer } from "./mailer.ts";
import { buildRaw, prepareEmail } from "./message.ts";

const base = { defaultFrom: "Switchyard <noreply@example.com>", maxBytes: 1024 * 1024 };

async function refusal(promise: Promise<unknown>): Promise<EmailError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EmailError);
  return error as EmailError;
}

describe("prepareEmail", () => {
  it("refuses malformed addresses with invalid_address, naming the field", async () => {
    for (const to of ["not-an-address", "a@", "@b.example", "a b@example.com", "a@example", ["ok@example.com", 42], ""]) {
      const error = await refusal(prepareEmail("text", { to, subject: "s", text: "t" }, base));
      expect(error.code).toBe("invalid_address");
      expect(error.retryable).toBe(false);
    }
    const cc = await refusal(prepareEmail("text", { to: "a@example.com", cc: "nope", subject: "s", text: "t" }, base));
    expect(cc.message).toMatch(/^cc /);
  });

  it("never lets CR/LF add a header", async () => {
    const injected = await refusal(prepareEmail("text", { to: "a@example.com\r\nBcc: evil@example.com", subject: "s", text: "t" }, base));
    expect(injected.code).toBe("invalid_address");
    const message = await prepareEmail("text", { to: "a@example.com", subject: "Hi\r\nBcc: evil@example.com\r\nX-Evil: 1", text: "t" }, base);
    const parsed = await simpleParser(await buildRaw(message.options));
    expect(parsed.headers.has("x-evil")).toBe(false);
    expect(parsed.headers.has("bcc")).toBe(false);
    expect(message.envelope.to).toEqual(["a@example.com"]);
    expect(parsed.subject).toBe("Hi Bcc: evil@example.com X-Evil: 1");
  });

  it("refuses a message over the cap with too_large, on its built size", async () => {
    const error = await refusal(prepareEmail("text", { to: "a@example.com", subject: "s", text: "x".repeat(2000) }, { ...base, maxBytes: 1500 }));
    expect(error.code).toBe("too_large");
    expect(error.message).toMatch(/limit is 1500/);
    // Near the cap the size is the built one, not the bound: 8-bit text that
    // fits once encoded is accepted even though three bytes per byte would not.
    const text = "é".repeat(4000);
    const built = (await buildRaw((await prepareEmail("text", { to: "a@example.com", subject: "s", text }, base)).options)).length;
    const fits = await prepareEmail("text", { to: "a@example.com", subject: "s", text }, { ...base, maxBytes: built });
    expect(fits.size).toBe(built);
    expect((await refusal(prepareEmail("text", { to: "a@example.com", subject: "s", text }, { ...base, maxBytes: built - 1 }))).code).toBe("too_large");
  });

  it("applies the sender and recipient allowlists", async () => {
    const sender = await refusal(prepareEmail("text", { to: "a@example.com", from: "x@other.test", subject: "s", text: "t" }, { ...base, allowedSenders: ["@example.com"] }));
    expect(sender.code).toBe("sender_not_allowed");
    const recipient = await refusal(prepareEmail("text", { to: ["a@example.com", "b@elsewhere.test"], subject: "s", text: "t" }, { ...base, allowedRecipients: ["example.com"] }));
    expect(recipient.code).toBe("recipient_not_allowed");
    expect(recipient.message).toContain("b@elsewhere.test");
    await expect(prepareEmail("text", { to: "A@Example.com", subject: "s", text: "t" }, { ...base, allowedRecipients: ["a@example.com"] })).resolves.toBeTruthy();
  });

  it("keeps send text-only and sendHtml needing html", async () => {
    expect((await refusal(prepareEmail("text", { to: "a@example.com", subject: "s", text: "t", html: "<p>" }, base))).code).toBe("invalid_input");
    expect((await refusal(prepareEmail("html", { to: "a@example.com", subject: "s", text: "t" }, base))).code).toBe("invalid_input");
    expect((await refusal(prepareEmail("text", { to: "a@example.com", subject: "s", text: "t", attachments: [] }, base))).message).toMatch(/unknown field/);
    expect((await refusal(prepareEmail("text", { to: "a@example.com", subject: "s", text: "t" }, { ...base, defaultFrom: null }))).code).toBe("not_configured");
  });
});

describe("sending over SMTP", () => {
  let sink: SmtpSink;
  let mailer: Mailer;
  beforeAll(async () => {
    sink = await startSmtpSink({ refuse: (a) => a.startsWith("nobody@") });
    mailer = createMailer({ maxConnections: 2 });
  });
  afterAll(async () => {
    await mailer.close();
    await sink.close();
  });

  it("delivers To, Cc, Bcc, Reply-To, subject and multipart/alternative parts", async () => {
    const message = await prepareEmail(
      "html",
      {
        to: ["Ann <ann@example.com>", "bob@example.com"],
        cc: "carol@example.com",
        bcc: ["dave@example.com"],
        reply_to: "replies@example.com",
        subject: "Quarterly ✔",
        text: "plain body",
        html: "<p>html body</p>",
      },
      base,
    );
    const result = await mailer.send(sink.url, message);
    expect(result.accepted.sort()).toEqual(["ann@example.com", "bob@example.com", "carol@example.com", "dave@example.com"]);
    expect(result.rejected).toEqual([]);
    const got = sink.messages.find((m) => m.raw.includes(Buffer.from(message.messageId.replace(/[<>]/g, ""))));
    expect(got).toBeDefined();
    expect(got?.to.sort()).toEqual(["ann@example.com", "bob@example.com", "carol@example.com", "dave@example.com"]);
    expect(got?.from).toBe("noreply@example.com");
    const parsed = await simpleParser(got?.raw as Buffer);
    expect(parsed.subject).toBe("Quarterly ✔");
    expect(parsed.text?.trim()).toBe("plain body");
    expect(parsed.html).toContain("<p>html body</p>");
    expect(parsed.headers.get("content-type")).toMatchObject({ value: "multipart/alternative" });
    expect(parsed.headers.has("bcc")).toBe(false);
    expect(JSON.stringify(parsed.replyTo?.value)).toContain("replies@example.com");
    expect(JSON.stringify(parsed.cc)).toContain("carol@example.com");
    expect(parsed.messageId).toBe(result.message_id);
  });

  it("reports a refused recipient among accepted ones, and all refused as rejected (not retryable)", async () => {
    const partial = await mailer.send(sink.url, await prepareEmail("text", { to: ["ok@example.com", "nobody@example.com"], subject: "s", text: "t" }, base));
    expect(partial.accepted).toEqual(["ok@example.com"]);
    expect(partial.rejected).toEqual(["nobody@example.com"]);
    const error = await refusal(mailer.send(sink.url, await prepareEmail("text", { to: "nobody@example.com", subject: "s", text: "t" }, base)));
    expect(error.code).toBe("rejected");
    expect(error.retryable).toBe(false);
  });

  it("fails retryably when the server is down, without the URL's password", async () => {
    const down = await startSmtpSink();
    const url = `smtp://user:hunter2-secret@127.0.0.1:${down.port}`;
    await down.close();
    const error = await refusal(mailer.send(url, await prepareEmail("text", { to: "a@example.com", subject: "s", text: "t" }, base)));
    expect(error.code).toBe("smtp_unavailable");
    expect(error.retryable).toBe(true);
    expect(error.message).not.toContain("hunter2");
  });

  it("fails retryably on a 4xx answer and for good on a 5xx one", async () => {
    let code = 451;
    const flaky = await startSmtpSink({ failData: () => code });
    try {
      const message = await prepareEmail("text", { to: "a@example.com", subject: "s", text: "t" }, base);
      const temporary = await refusal(mailer.send(flaky.url, message));
      expect([temporary.code, temporary.retryable]).toEqual(["smtp_unavailable", true]);
      code = 554;
      const permanent = await refusal(mailer.send(flaky.url, message));
      expect([permanent.code, permanent.retryable]).toEqual(["rejected", false]);
    } finally {
      await flaky.close();
    }
  });
});
