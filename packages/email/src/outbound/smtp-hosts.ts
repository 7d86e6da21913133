/**
 * The operator's list of SMTP servers an app may name in its own `SMTP_URL`
 * secret (SWITCHYARD_SMTP_ALLOWED_HOSTS). Without it, an app may name any
 * server the egress policy lets it reach (internal addresses are refused
 * there, after DNS); with it, only those listed, which are also opened in
 * the egress policy (an operator's internal relay). The operator's own
 * SWITCHYARD_SMTP_URL is never checked against either.
 *
 * @example
 * const rules = parseSmtpHostRules("smtp.sendgrid.net:587, *.mailgun.org");
 * smtpHostAllowed(rules, new URL("smtp://u:p@smtp.eu.mailgun.org:587")); // true
 */
import { EmailError } from "./errors.ts";
import { assertSmtpUrl, canonicalHost, smtpPort } from "./smtp-url.ts";

/** One allowed server: an exact host, or every subdomain of one, on any port or one. */
export interface SmtpHostRule {
  /** Lowercase host name or IP address as the URL parser writes it (IPv6 without brackets). */
  host: string;
  /** `*.example.com`: any name ending in `.example.com` (not `example.com` itself). */
  subdomains: boolean;
  port: number | null;
}

const HOST_NAME = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?$/;
const ENTRY = /^(\*\.)?(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::(\d{1,5}))?$/;

/**
 * Parses a comma- or space-separated list of `host`, `host:port`,
 * `*.domain`, `*.domain:port`, `[ipv6]` or `[ipv6]:port`. Throws an Error
 * naming the first entry that is not one of these.
 */
export function parseSmtpHostRules(text: string): SmtpHostRule[] {
  const entries = text.split(/[\s,]+/).filter(Boolean);
  if (entries.length === 0) throw new Error("the list is empty");
  return entries.map((entry) => {
    const match = ENTRY.exec(entry.toLowerCase());
    const port = match?.[3] === undefined ? null : Number(match[3]);
    const rule = match ? normalize(match[2] as string, match[1] !== undefined, port) : null;
    if (!rule) throw new Error(`${JSON.stringify(entry)} is not host, host:port or *.domain[:port]`);
    return rule;
  });
}

function normalize(host: string, subdomains: boolean, port: number | null): SmtpHostRule | null {
  if (port !== null && (port < 1 || port > 65_535)) return null;
  const canonical = canonicalHost(host);
  if (canonical === null) return null;
  const ipv6 = canonical.includes(":");
  if (!ipv6 && !HOST_NAME.test(canonical)) return null;
  if (subdomains && (ipv6 || !canonical.includes("."))) return null;
  return { host: canonical, subdomains, port };
}

/** Whether `url` (an app's SMTP_URL, already parsed) names a server the rules allow. */
export function smtpHostAllowed(rules: readonly SmtpHostRule[], url: URL): boolean {
  const host = canonicalHost(url.hostname);
  if (host === null) return false;
  const port = smtpPort(url);
  return rules.some((rule) => (rule.port === null || rule.port === port) && (rule.subdomains ? host.endsWith(`.${rule.host}`) : host === rule.host));
}

/** Refuses an app's SMTP_URL whose server the operator does not allow (the URL's credentials never appear in the message). */
export function assertSmtpHostAllowed(rules: readonly SmtpHostRule[], smtpUrl: string): void {
  const url = assertSmtpUrl(smtpUrl);
  if (smtpHostAllowed(rules, url)) return;
  throw new EmailError(
    "smtp_host_not_allowed",
    `this app's SMTP_URL names ${url.hostname}:${smtpPort(url)}, which is not among the SMTP servers the operator allows (SWITCHYARD_SMTP_ALLOWED_HOSTS)`,
  );
}

/** A rule as an egress policy entry (`host`, `*.domain`, `[v6]`, each with `:port` when it has one). */
export function smtpRuleEntry(rule: SmtpHostRule): string {
  const host = rule.host.includes(":") ? `[${rule.host}]` : rule.subdomains ? `*.${rule.host}` : rule.host;
  return rule.port === null ? host : `${host}:${rule.port}`;
}
