/**
 * The operator's egress rules: entries that open destinations the default
 * policy refuses, or close ones it allows. An entry is a CIDR (`10.0.0.0/8`,
 * `fd00::/8`), an address in any spelling (`127.0.0.1`, `[::1]`), a host
 * (`mail.internal`), every subdomain of a domain (`*.corp.example`), each
 * optionally with a port (`mail.internal:2525`, `[::1]:25`, `10.0.0.0/8:587`).
 *
 * Address rules (CIDRs and addresses) match the address actually connected
 * to; host rules match the host name as the request wrote it.
 *
 * @example
 * const rules = parseEgressRules("10.0.0.0/8, mail.internal:2525 *.corp.example");
 */
import { BlockList } from "node:net";
import { domainToASCII } from "node:url";
import { parseAddress } from "./address.ts";
import { embeddedIPv4 } from "./classify.ts";

export type EgressRule =
  | { kind: "network"; text: string; family: 4 | 6; network: string; prefix: number; port: number | null; list: BlockList }
  | { kind: "host"; text: string; host: string; subdomains: boolean; port: number | null };

/** An entry that is not one of the accepted forms; `message` names it. */
export class EgressRuleError extends Error {
  override name = "EgressRuleError";
  constructor(readonly entry: string) {
    super(`${JSON.stringify(entry)} is not a CIDR, an address, a host, *.domain, or one of those with :port`);
  }
}

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** Parses a comma- or space-separated list; throws EgressRuleError on the first bad entry. An empty text is no rules. */
export function parseEgressRules(text: string | readonly string[]): EgressRule[] {
  const entries = typeof text === "string" ? text.split(/[\s,]+/) : text.flatMap((t) => t.split(/[\s,]+/));
  return entries.filter(Boolean).map(parseEgressRule);
}

export function parseEgressRule(entry: string): EgressRule {
  const text = entry.trim();
  const { body, port } = splitPort(text.toLowerCase(), text);
  const rule = body.includes("/") ? networkRule(text, body, port) : (addressRule(text, body, port) ?? hostRule(text, body, port));
  if (!rule) throw new EgressRuleError(entry);
  return rule;
}

/** `[v6]:port`, `v4-or-name:port`, or no port (a bare IPv6 address has colons of its own). */
function splitPort(lower: string, original: string): { body: string; port: number | null } {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(lower);
  if (bracketed) return { body: bracketed[1] as string, port: portOf(bracketed[2], original) };
  const colons = lower.split(":").length - 1;
  if (colons === 1) {
    const at = lower.lastIndexOf(":");
    if (!/^\d{1,5}$/.test(lower.slice(at + 1))) throw new EgressRuleError(original);
    return { body: lower.slice(0, at), port: portOf(lower.slice(at + 1), original) };
  }
  return { body: lower, port: null };
}

function portOf(digits: string | undefined, original: string): number | null {
  if (digits === undefined) return null;
  const port = Number(digits);
  if (port < 1 || port > 65_535) throw new EgressRuleError(original);
  return port;
}

function networkRule(text: string, body: string, port: number | null): EgressRule | null {
  const [base = "", bits = "", extra] = body.split("/");
  const parsed = parseAddress(base);
  if (!parsed || extra !== undefined || !/^\d{1,3}$/.test(bits)) return null;
  const prefix = Number(bits);
  if (prefix > (parsed.family === 4 ? 32 : 128)) return null;
  return network(text, parsed.family, parsed.address, prefix, port);
}

function addressRule(text: string, body: string, port: number | null): EgressRule | null {
  const parsed = parseAddress(body);
  return parsed ? network(text, parsed.family, parsed.address, parsed.family === 4 ? 32 : 128, port) : null;
}

function network(text: string, family: 4 | 6, address: string, prefix: number, port: number | null): EgressRule {
  const list = new BlockList();
  list.addSubnet(address, prefix, family === 4 ? "ipv4" : "ipv6");
  return { kind: "network", text, family, network: address, prefix, port, list };
}

function hostRule(text: string, body: string, port: number | null): EgressRule | null {
  const subdomains = body.startsWith("*.");
  const host = canonicalName(subdomains ? body.slice(2) : body);
  if (host === null || (subdomains && !host.includes("."))) return null;
  return { kind: "host", text, host, subdomains, port };
}

/** A host name in one spelling (lowercase, no trailing dot), or null when it is not a name. */
export function canonicalName(name: string): string | null {
  // Internationalized names compare in their ASCII (punycode) form, as DNS sees them.
  const host = (/\P{ASCII}/u.test(name) ? domainToASCII(name) : name).toLowerCase().replace(/\.$/, "");
  if (host.length === 0 || host.length > 253) return null;
  return host.split(".").every((label) => LABEL.test(label)) ? host : null;
}

/**
 * Whether `rule` covers a connection to `address` (already parsed) for the
 * name `hostname`, on `port`; `port` null means not known, which a rule with
 * a port only covers when `unknownPortMatches` (deny rules: fail closed).
 */
export function ruleMatches(rule: EgressRule, hostname: string | null, address: { family: 4 | 6; address: string; bytes: Uint8Array }, port: number | null, unknownPortMatches: boolean): boolean {
  if (rule.port !== null && (port === null ? !unknownPortMatches : rule.port !== port)) return false;
  if (rule.kind === "host") {
    if (hostname === null) return false;
    return rule.subdomains ? hostname.endsWith(`.${rule.host}`) : hostname === rule.host;
  }
  const type = rule.family === 4 ? "ipv4" : "ipv6";
  if (address.family === rule.family && rule.list.check(address.address, type)) return true;
  // An IPv6 address carrying an IPv4 one is that destination too.
  return rule.family === 4 && address.family === 6 && embeddedIPv4(address.bytes).some((v4) => rule.list.check(v4, "ipv4"));
}
