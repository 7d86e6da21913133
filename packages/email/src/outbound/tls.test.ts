import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSmtpSink, type SmtpSink } from "../testing/smtp-sink.ts";
import { createMailer } from "./mailer.ts";
import { isLoopbackHost } from "./smtp-url.ts";
import { prepareEmail } from "./message.ts";

// A throwaway self-signed certificate for 127.0.0.1, made by openssl for this run.
function selfSigned() {
  const dir = mkdtempSync(join(tmpdir(), "sy-tls-"));
  try {
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
    return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("SMTP over TLS", () => {
  const { key, cert } = selfSigned();
  let starttls: SmtpSink;
  let implicit: SmtpSink;
  let plain: SmtpSink;
  beforeAll(async () => {
    plain = await startSmtpSink();
    starttls = await startSmtpSink({ starttls: true, server: { key, cert } });
    implicit = await startSmtpSink({ server: { key, cert, secure: true } });
  });
  afterAll(async () => {
    await starttls?.close();
    await implicit?.close();
    await plain?.close();
  });
  const message = () => prepareEmail("text", { to: "a@example.com", subject: "over tls", text: "t" }, { defaultFrom: "from@example.com", maxBytes: 1_000_000 });

  it("upgrades smtp:// with STARTTLS and speaks TLS from the start on smtps://, verifying the certificate", async () => {
    const mailer = createMailer({ ca: cert });
    try {
      await mailer.send(starttls.url, await message());
      await mailer.send(implicit.url, await message());
      expect(starttls.url).toMatch(/^smtp:/);
      expect(implicit.url).toMatch(/^smtps:/);
      expect(starttls.messages.map((m) => m.secure)).toEqual([true]);
      expect(implicit.messages.map((m) => m.secure)).toEqual([true]);
    } finally {
      await mailer.close();
    }
  });

  it("refuses a certificate it cannot verify, retryably, and sends nothing", async () => {
    const mailer = createMailer();
    try {
      const before = starttls.received() + implicit.received();
      for (const url of [starttls.url, implicit.url]) {
        const error = await mailer.send(url, await message()).then(() => null, (e: { code?: string; retryable?: boolean }) => e);
        expect(error).toMatchObject({ code: "smtp_unavailable", retryable: true });
      }
      expect(starttls.received() + implicit.received()).toBe(before);
    } finally {
      await mailer.close();
    }
  });

  it("never sends over smtp:// unencrypted when STARTTLS is required, and says so without retrying", async () => {
    const mailer = createMailer({ ca: cert, plaintext: "never" });
    try {
      const before = plain.received();
      const error = await mailer.send(`smtp://user:pw-never-shown@${new URL(plain.url).host}`, await message()).then(() => null, (e: { code?: string; retryable?: boolean; message?: string }) => e);
      expect(error).toMatchObject({ code: "smtp_tls_unavailable", retryable: false });
      expect(error?.message).toMatch(/does not offer STARTTLS/);
      expect(error?.message).not.toContain("pw-never-shown");
      expect(plain.received()).toBe(before);
      // Where STARTTLS is offered, the same policy upgrades and sends.
      await mailer.send(starttls.url, await message());
      expect(starttls.messages.at(-1)?.secure).toBe(true);
    } finally {
      await mailer.close();
    }
  });

  it("by default lets smtp:// stay unencrypted only to this machine", async () => {
    for (const host of ["localhost", "127.0.0.1", "127.8.9.10", "2130706433", "[::1]", "LOCALHOST"]) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ["10.0.0.5", "192.168.1.1", "mail.example.com", "localhost.example.com", "[::ffff:127.0.0.1]", "128.0.0.1"]) expect(isLoopbackHost(host), host).toBe(false);
    const mailer = createMailer();
    try {
      const before = plain.received();
      await mailer.send(plain.url, await message());
      expect(plain.received()).toBe(before + 1);
      expect(plain.messages.at(-1)?.secure).toBe(false);
    } finally {
      await mailer.close();
    }
  });
});
