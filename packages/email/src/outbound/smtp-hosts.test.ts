import { describe, expect, it } from "vitest";
import { EmailError } from "./errors.ts";
import { assertSmtpHostAllowed, parseSmtpHostRules, smtpHostAllowed } from "./smtp-hosts.ts";

const allowed = (list: string, url: string) => smtpHostAllowed(parseSmtpHostRules(list), new URL(url));

describe("SMTP host rules (SWITCHYARD_SMTP_ALLOWED_HOSTS)", () => {
  it("parses hosts, ports, subdomain wildcards and IPv6, separated by commas or spaces", () => {
    expect(parseSmtpHostRules("smtp.sendgrid.net:587, *.Mailgun.org [::1]:2525  10.0.0.5")).toEqual([
      { host: "smtp.sendgrid.net", subdomains: false, port: 587 },
      { host: "mailgun.org", subdomains: true, port: null },
      { host: "::1", subdomains: false, port: 2525 },
      { host: "10.0.0.5", subdomains: false, port: null },
    ]);
  });

  it("refuses entries that are not a host, naming the entry", () => {
    for (const bad of ["", " , ", "smtp://mail.example.com", "mail.example.com:0", "mail.example.com:70000", "*.*.example.com", "*", "*.com:x", "a/b", "user@mail.example.com", "*.[::1]"]) {
      expect(() => parseSmtpHostRules(bad), bad).toThrow();
    }
    expect(() => parseSmtpHostRules("ok.example.com, a/b")).toThrow('"a/b" is not host');
  });

  it("matches the host exactly, case-insensitively, on any port unless one is given", () => {
    expect(allowed("mail.example.com", "smtp://u:p@MAIL.example.com:2525")).toBe(true);
    expect(allowed("mail.example.com", "smtp://mail.example.com.:25")).toBe(true);
    expect(allowed("mail.example.com", "smtp://mail.example.com.evil.test")).toBe(false);
    expect(allowed("mail.example.com", "smtp://xmail.example.com")).toBe(false);
    expect(allowed("mail.example.com:587", "smtp://mail.example.com")).toBe(true);
    expect(allowed("mail.example.com:465", "smtps://mail.example.com")).toBe(true);
    expect(allowed("mail.example.com:587", "smtp://mail.example.com:25")).toBe(false);
  });

  it("lets *.domain cover subdomains only", () => {
    expect(allowed("*.mailgun.org", "smtp://smtp.eu.mailgun.org:587")).toBe(true);
    expect(allowed("*.mailgun.org", "smtp://mailgun.org")).toBe(false);
    expect(allowed("*.mailgun.org", "smtp://evilmailgun.org")).toBe(false);
  });

  it("compares addresses the way the URL parser writes them, so other spellings of a refused address stay refused", () => {
    expect(allowed("mail.example.com", "smtp://2130706433:25")).toBe(false);
    expect(allowed("mail.example.com", "smtp://0x7f.1:25")).toBe(false);
    expect(allowed("127.0.0.1", "smtp://0x7f.1:25")).toBe(true);
    expect(allowed("127.0.0.1", "smtp://2130706433:25")).toBe(true);
    expect(allowed("2130706433", "smtp://127.0.0.1:25")).toBe(true);
    expect(allowed("[::1]", "smtp://[0:0:0:0:0:0:0:1]:25")).toBe(true);
  });

  it("refuses with smtp_host_not_allowed, naming the host but never the credentials", () => {
    const rules = parseSmtpHostRules("smtp.sendgrid.net");
    let error: unknown;
    try {
      assertSmtpHostAllowed(rules, "smtp://apikey:hunter2-secret@169.254.169.254:80");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EmailError);
    expect(error).toMatchObject({ code: "smtp_host_not_allowed", retryable: false });
    expect((error as Error).message).toContain("169.254.169.254:80");
    expect((error as Error).message).not.toMatch(/hunter2|apikey/);
    expect(() => assertSmtpHostAllowed(rules, "smtp://apikey:x@smtp.sendgrid.net:587")).not.toThrow();
    expect(() => assertSmtpHostAllowed(rules, "http://smtp.sendgrid.net")).toThrow(expect.objectContaining({ code: "not_configured" }));
  });
});
