import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "./config.ts";

describe("parseConfig", () => {
  it("applies API.md's defaults", () => {
    const config = parseConfig({});
    expect(config).toMatchObject({ dev: false, host: "127.0.0.1", port: 8787, dataDir: "./.switchyard", dbPool: 10, secretMaxBytes: 65536, logLevel: "info" });
    expect(config.databaseUrl).toBeUndefined();
  });

  it("names each invalid variable and what is wrong with it", () => {
    expect(() => parseConfig({ SWITCHYARD_PORT: "70000" })).toThrow(/SWITCHYARD_PORT: must be at most 65535 \(got "70000"\)/);
    expect(() => parseConfig({ SWITCHYARD_DB_POOL: "-1" })).toThrow(/SWITCHYARD_DB_POOL: must be a whole number/);
    expect(() => parseConfig({ SWITCHYARD_DEV: "maybe" })).toThrow(/SWITCHYARD_DEV/);
    expect(() => parseConfig({ SWITCHYARD_LOG_LEVEL: "loud" })).toThrow(/SWITCHYARD_LOG_LEVEL/);
  });

  it("reads how many engine crashes a workspace may cause before it is blocked (0: never)", () => {
    expect(parseConfig({}).engineCrashLimit).toBe(3);
    expect(parseConfig({ SWITCHYARD_ENGINE_CRASH_LIMIT: "0" }).engineCrashLimit).toBe(0);
    expect(parseConfig({ SWITCHYARD_ENGINE_CRASH_LIMIT: "10" }).engineCrashLimit).toBe(10);
    expect(() => parseConfig({ SWITCHYARD_ENGINE_CRASH_LIMIT: "-1" })).toThrow(/SWITCHYARD_ENGINE_CRASH_LIMIT: must be a whole number/);
  });

  it("never echoes a database URL, which may hold a password", () => {
    const run = () => parseConfig({ DATABASE_URL: "mysql://user:hunter2@db/x" });
    expect(run).toThrow(/DATABASE_URL: must be a postgres/);
    expect(run).not.toThrow(/hunter2/);
  });

  it("reads the email settings, checking their forms without echoing the SMTP password", () => {
    const config = parseConfig({ SWITCHYARD_SMTP_URL: "smtps://u:p@mail.example.com:465", SWITCHYARD_EMAIL_FROM: "Acme <no@acme.example>", SWITCHYARD_SMTP_LISTEN: "[::1]:2525", SWITCHYARD_INBOUND_DOMAIN: "In.Example.com" });
    expect(config).toMatchObject({ smtpUrl: "smtps://u:p@mail.example.com:465", emailFrom: "Acme <no@acme.example>", smtpListen: { host: "::1", port: 2525 }, inboundDomain: "in.example.com", emailMaxBytes: 26_214_400, captureEmail: false });
    expect(parseConfig({ SWITCHYARD_DEV: "1" }).captureEmail).toBe(true);
    const badUrl = () => parseConfig({ SWITCHYARD_SMTP_URL: "http://u:hunter2@mail.example.com" });
    expect(badUrl).toThrow(/SWITCHYARD_SMTP_URL: must be an smtp:\/\/ or smtps:\/\/ URL/);
    expect(badUrl).not.toThrow(/hunter2/);
    expect(() => parseConfig({ SWITCHYARD_SMTP_LISTEN: "2525" })).toThrow(/SWITCHYARD_SMTP_LISTEN: must be host:port/);
    expect(() => parseConfig({ SWITCHYARD_SMTP_LISTEN: "127.0.0.1:2525" })).toThrow(/needs SWITCHYARD_INBOUND_DOMAIN/);
    expect(() => parseConfig({ SWITCHYARD_EMAIL_MAX_BYTES: "10" })).toThrow(/SWITCHYARD_EMAIL_MAX_BYTES: must be at least 1024/);
    expect(() => parseConfig({ SWITCHYARD_SMTP_CA_FILE: "/nonexistent/ca.pem" })).toThrow(/SWITCHYARD_SMTP_CA_FILE: cannot read \/nonexistent\/ca.pem \(ENOENT\)/);
    const notPem = join(mkdtempSync(join(tmpdir(), "sy-ca-")), "ca.pem");
    writeFileSync(notPem, "not a certificate\n");
    expect(() => parseConfig({ SWITCHYARD_SMTP_CA_FILE: notPem })).toThrow(/holds no PEM certificate/);
  });

  it("reads the SMTP servers apps may name, refusing a list it cannot read", () => {
    expect(parseConfig({}).smtpAllowedHosts).toBeNull();
    expect(parseConfig({ SWITCHYARD_SMTP_ALLOWED_HOSTS: "smtp.sendgrid.net:587, *.mailgun.org" }).smtpAllowedHosts).toEqual([
      { host: "smtp.sendgrid.net", subdomains: false, port: 587 },
      { host: "mailgun.org", subdomains: true, port: null },
    ]);
    expect(() => parseConfig({ SWITCHYARD_SMTP_ALLOWED_HOSTS: "smtp.sendgrid.net, smtp://x" })).toThrow(/SWITCHYARD_SMTP_ALLOWED_HOSTS: "smtp:\/\/x" is not host/);
  });

  it("reads the egress rules through the egress policy, refusing internal addresses unless opened and naming a bad entry's variable", () => {
    const closed = parseConfig({}).egress;
    expect(closed.check("x.example", "10.0.0.1", 25).ok).toBe(false);
    expect(closed.check("x.example", "93.184.215.14", 443).ok).toBe(true);
    const config = parseConfig({ SWITCHYARD_EGRESS_ALLOW: "10.0.0.0/8, mail.internal:2525", SWITCHYARD_EGRESS_DENY: "10.9.0.0/16 *.blocked.example" });
    expect(config.egress.check("x.example", "10.0.0.1", 25).ok).toBe(true);
    expect(config.egress.check("x.example", "10.9.0.1", 25).ok).toBe(false);
    expect(config.egress.check("mail.internal", "192.168.1.1", 2525).ok).toBe(true);
    expect(config.egress.check("a.blocked.example", "93.184.215.14", 443).ok).toBe(false);
    expect(() => parseConfig({ SWITCHYARD_EGRESS_ALLOW: "10.0.0.0/8, http://x" })).toThrow(/SWITCHYARD_EGRESS_ALLOW: "http:\/\/x" is not a CIDR/);
    expect(() => parseConfig({ SWITCHYARD_EGRESS_DENY: "10.0.0.0/40" })).toThrow(/SWITCHYARD_EGRESS_DENY: "10.0.0.0\/40" is not a CIDR/);
  });

  it("reads the fetch limits with API.md's defaults, naming a bad one's variable", () => {
    expect(parseConfig({}).fetchLimits).toEqual({ maxSubrequests: 50, maxResponseBytes: 10 * 1024 * 1024, maxRequestBodyBytes: 10 * 1024 * 1024, timeoutMs: 30_000, maxBufferedBytes: 256 * 1024 * 1024 });
    expect(
      parseConfig({ SWITCHYARD_FETCH_MAX_SUBREQUESTS: "0", SWITCHYARD_FETCH_MAX_RESPONSE_BYTES: "4096", SWITCHYARD_FETCH_MAX_REQUEST_BYTES: "1024", SWITCHYARD_FETCH_TIMEOUT_MS: "2500", SWITCHYARD_FETCH_MAX_BUFFERED_BYTES: "2097152" }).fetchLimits,
    ).toEqual({ maxSubrequests: 0, maxResponseBytes: 4096, maxRequestBodyBytes: 1024, timeoutMs: 2500, maxBufferedBytes: 2 * 1024 * 1024 });
    expect(() => parseConfig({ SWITCHYARD_FETCH_MAX_BUFFERED_BYTES: "1000" })).toThrow(/SWITCHYARD_FETCH_MAX_BUFFERED_BYTES: must be at least 1048576/);
    expect(() => parseConfig({ SWITCHYARD_FETCH_MAX_SUBREQUESTS: "lots" })).toThrow(/SWITCHYARD_FETCH_MAX_SUBREQUESTS: must be a whole number/);
    expect(() => parseConfig({ SWITCHYARD_FETCH_MAX_RESPONSE_BYTES: "0" })).toThrow(/SWITCHYARD_FETCH_MAX_RESPONSE_BYTES: must be at least 1/);
    expect(() => parseConfig({ SWITCHYARD_FETCH_MAX_REQUEST_BYTES: "-5" })).toThrow(/SWITCHYARD_FETCH_MAX_REQUEST_BYTES: must be a whole number/);
    expect(() => parseConfig({ SWITCHYARD_FETCH_TIMEOUT_MS: "0" })).toThrow(/SWITCHYARD_FETCH_TIMEOUT_MS: must be at least 1/);
  });

  it("reads the fetch CA file once at start, refusing one it cannot read or that holds no certificate", () => {
    expect(parseConfig({}).egressCa).toBeNull();
    const folder = mkdtempSync(join(tmpdir(), "sy-egress-ca-"));
    const pem = join(folder, "ca.pem");
    writeFileSync(pem, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    expect(parseConfig({ SWITCHYARD_EGRESS_CA_FILE: pem }).egressCa).toContain("BEGIN CERTIFICATE");
    expect(() => parseConfig({ SWITCHYARD_EGRESS_CA_FILE: join(folder, "missing.pem") })).toThrow(/SWITCHYARD_EGRESS_CA_FILE: cannot read .*missing\.pem \(ENOENT\)/);
    const notPem = join(folder, "not.pem");
    writeFileSync(notPem, "not a certificate\n");
    expect(() => parseConfig({ SWITCHYARD_EGRESS_CA_FILE: notPem })).toThrow(/SWITCHYARD_EGRESS_CA_FILE: .*holds no PEM certificate/);
  });

  it("reads the operator's email limits, which apps may only narrow", () => {
    expect(parseConfig({}).emailLimits).toEqual({ allowedSenders: null, allowedRecipients: null, ratePerMinute: null });
    expect(parseConfig({ SWITCHYARD_EMAIL_ALLOWED_SENDERS: "@ops.example, alerts@acme.example", SWITCHYARD_EMAIL_ALLOWED_RECIPIENTS: "example.com", SWITCHYARD_EMAIL_RATE_LIMIT_PER_MINUTE: "60" }).emailLimits).toEqual({
      allowedSenders: ["@ops.example", "alerts@acme.example"],
      allowedRecipients: ["example.com"],
      ratePerMinute: 60,
    });
    expect(() => parseConfig({ SWITCHYARD_EMAIL_ALLOWED_SENDERS: "not an address" })).toThrow(/SWITCHYARD_EMAIL_ALLOWED_SENDERS: must list addresses/);
    expect(() => parseConfig({ SWITCHYARD_EMAIL_RATE_LIMIT_PER_MINUTE: "0" })).toThrow(/SWITCHYARD_EMAIL_RATE_LIMIT_PER_MINUTE: must be at least 1/);
  });

  it("sends unencrypted smtp:// only to this machine unless told otherwise", () => {
    expect(parseConfig({}).smtpPlaintext).toBe("loopback");
    expect(parseConfig({ SWITCHYARD_SMTP_PLAINTEXT: "never" }).smtpPlaintext).toBe("never");
    expect(parseConfig({ SWITCHYARD_SMTP_PLAINTEXT: "always" }).smtpPlaintext).toBe("always");
    expect(() => parseConfig({ SWITCHYARD_SMTP_PLAINTEXT: "yes" })).toThrow(/SWITCHYARD_SMTP_PLAINTEXT/);
  });

  it("reports unknown SWITCHYARD_ variables as likely typos, but not the client ones", () => {
    const config = parseConfig({ SWITCHYARD_PROT: "1", SWITCHYARD_URL: "http://x", SWITCHYARD_TOKEN: "t" });
    expect(config.unknownVariables).toEqual(["SWITCHYARD_PROT"]);
  });

  it("reads the connectivity window and flush interval, five minutes and one second by default", () => {
    expect(parseConfig({}).connectivity).toEqual({ windowMs: 300_000, flushMs: 1_000 });
    expect(parseConfig({ SWITCHYARD_CONNECTIVITY_WINDOW_MS: "5000", SWITCHYARD_CONNECTIVITY_FLUSH_MS: "100" }).connectivity).toEqual({ windowMs: 5_000, flushMs: 100 });
    expect(() => parseConfig({ SWITCHYARD_CONNECTIVITY_WINDOW_MS: "500" })).toThrow(/SWITCHYARD_CONNECTIVITY_WINDOW_MS: must be at least 1000/);
    expect(() => parseConfig({ SWITCHYARD_CONNECTIVITY_FLUSH_MS: "1m" })).toThrow(/SWITCHYARD_CONNECTIVITY_FLUSH_MS: must be a whole number/);
  });

  it("treats empty variables as unset", () => {
    expect(parseConfig({ SWITCHYARD_PORT: "", DATABASE_URL: "" })).toMatchObject({ port: 8787, databaseUrl: undefined });
  });
});
