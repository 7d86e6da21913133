/**
 * Reading an SMTP URL: its form, the port it connects to, and its host in
 * one spelling (shared by the mailer, which connects, and the operator's
 * host rules, which decide whether it may).
 */
import { EmailError } from "./errors.ts";

/** Checks an SMTP URL's form: `smtp://` or `smtps://` with a host. */
export function assertSmtpUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new EmailError("not_configured", "the SMTP URL is not a URL (expected smtp://user:pass@host:587 or smtps://...)");
  }
  if ((url.protocol !== "smtp:" && url.protocol !== "smtps:") || !url.hostname) {
    throw new EmailError("not_configured", "the SMTP URL must start with smtp:// or smtps:// and name a host");
  }
  return url;
}

/** The port a URL connects to: its own, or the scheme's (465 for smtps, 587 for smtp). */
export const smtpPort = (url: URL): number => (url.port ? Number(url.port) : url.protocol === "smtps:" ? 465 : 587);

/**
 * A host in one spelling: lowercase, IPv4 in dotted decimal, IPv6 compressed
 * without brackets, as an http: URL writes it (an smtp: URL keeps the host as
 * typed, while the resolver reads `2130706433` as 127.0.0.1). Null when it is
 * not a host.
 */
export function canonicalHost(host: string): string | null {
  try {
    return new URL(`http://${host}`).hostname.replace(/^\[|\]$/g, "").replace(/\.$/, "");
  } catch {
    return null;
  }
}

/** Whether `host` (as a URL writes it) is this machine: `localhost`, 127.0.0.0/8 or ::1. */
export function isLoopbackHost(host: string): boolean {
  const canonical = canonicalHost(host);
  return canonical === "localhost" || canonical === "::1" || (canonical !== null && /^127\.\d+\.\d+\.\d+$/.test(canonical));
}
