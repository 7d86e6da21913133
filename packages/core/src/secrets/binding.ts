/**
 * Host bindings of secrets. A bound secret's value never enters the sandbox:
 * scripts hold a placeholder, and the host puts the value into a fetch only
 * when the destination matches one of the bound hosts.
 *
 * An entry is `host`, `host:port`, `*.domain` (every subdomain, not the domain
 * itself), or an IP address with an optional port (`203.0.113.7`,
 * `[2001:db8::1]:8443`), in the egress rules' syntax; CIDR ranges are refused.
 * A binding is stored canonical: each entry in one spelling (lowercase,
 * punycode, one address form), no duplicates, sorted, so two bindings that
 * allow the same thing compare equal, and the binding can go into a
 * ciphertext's associated data byte for byte.
 *
 * @example
 * canonicalBinding(["API.Stripe.com", "*.example.com:443", "api.stripe.com"]);
 * // ["*.example.com:443", "api.stripe.com"]
 * bindingLoosens(["api.stripe.com"], ["api.stripe.com", "evil.example"]); // true
 */
import { parseEgressRule, type EgressRule } from "@switchyard/egress";
import { ValidationError } from "../errors.ts";

/** Entries one secret may be bound to. */
export const MAX_BOUND_HOSTS = 20;

/** One refused entry, in the shape of the API's field issues (`path` names the entry). */
export interface BindingIssue {
  path: string;
  code: "invalid_bound_host";
  message: string;
  entry: string;
}

/**
 * The canonical binding of `entries`, or null when there is none (null or
 * empty: the secret is unbound). Throws a ValidationError listing every bad
 * entry (as `details`, one issue per entry, `path` `bound_hosts.<index>`).
 */
export function canonicalBinding(entries: readonly string[] | null): string[] | null {
  if (entries === null || entries.length === 0) return null;
  if (entries.length > MAX_BOUND_HOSTS) {
    throw new ValidationError(`a secret may be bound to at most ${MAX_BOUND_HOSTS} hosts; got ${entries.length}`, [
      { path: "bound_hosts", code: "too_big", message: `at most ${MAX_BOUND_HOSTS} entries`, limit: MAX_BOUND_HOSTS, count: entries.length },
    ]);
  }
  const issues: BindingIssue[] = [];
  const canonical = new Set<string>();
  entries.forEach((entry, index) => {
    const text = String(entry).trim();
    const problem = entryProblem(text);
    if (problem) issues.push({ path: `bound_hosts.${index}`, code: "invalid_bound_host", message: `${JSON.stringify(text.slice(0, 300))} ${problem}`, entry: text.slice(0, 300) });
    else canonical.add(canonicalEntry(parseEgressRule(text)));
  });
  if (issues.length > 0) {
    const [first] = issues;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
    throw new ValidationError(`bound_hosts: ${first?.message}${more}`, issues);
  }
  return [...canonical].sort();
}

/** Why `text` is not a bound-host entry, or null when it is one. */
function entryProblem(text: string): string | null {
  if (text.trim() === "") return "is empty";
  if (text.includes("/")) return "is a range (CIDR) or a URL; bind to hosts (`api.example.com`, `*.example.com`, `host:port`) or single addresses";
  try {
    parseEgressRule(text);
    return null;
  } catch {
    return "is not a host, *.domain, an IP address, or one of those with :port";
  }
}

/** An entry in its one spelling: `*.` when it covers subdomains, the name or address, `:port` when limited to one. */
function canonicalEntry(rule: EgressRule): string {
  const port = rule.port === null ? "" : `:${rule.port}`;
  if (rule.kind === "host") return `${rule.subdomains ? "*." : ""}${rule.host}${port}`;
  if (rule.family === 6) return port ? `[${rule.network}]${port}` : rule.network;
  return `${rule.network}${port}`;
}

/** Whether two canonical bindings (or null) are the same. */
export function sameBinding(a: readonly string[] | null, b: readonly string[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((entry, i) => entry === b[i]);
}

/**
 * Whether going from binding `from` to `to` lets the value reach somewhere
 * it could not before: unbinding a bound secret, or adding an entry that no
 * entry of `from` already covers. Tightening (binding an unbound secret,
 * dropping an entry, narrowing `*.example.com` to `api.example.com`, adding a
 * port) does not loosen. Covering is decided conservatively: an entry that is
 * not plainly inside one of `from` (an IPv4 address written as IPv6, say)
 * counts as new.
 */
export function bindingLoosens(from: readonly string[] | null, to: readonly string[] | null): boolean {
  if (from === null) return false;
  if (to === null) return true;
  const before = from.map(parseEgressRule);
  return to.some((entry) => {
    const rule = parseEgressRule(entry);
    return !before.some((old) => covers(old, rule));
  });
}

/** Whether every destination `inner` allows, `outer` allows too. */
function covers(outer: EgressRule, inner: EgressRule): boolean {
  if (outer.port !== null && outer.port !== inner.port) return false;
  if (outer.kind === "host" && inner.kind === "host") {
    if (!outer.subdomains) return !inner.subdomains && inner.host === outer.host;
    return (inner.subdomains && inner.host === outer.host) || inner.host.endsWith(`.${outer.host}`);
  }
  if (outer.kind === "network" && inner.kind === "network") return outer.family === inner.family && outer.network === inner.network;
  return false;
}

/**
 * The associated-data suffix a binding adds to a sealed value: nothing for an
 * unbound one (so values sealed before bindings existed still open), else the
 * binding exactly as stored. A row whose binding was stripped or edited in the
 * database therefore does not open.
 */
export function bindingAad(boundHosts: unknown): string {
  if (boundHosts === null || boundHosts === undefined) return "";
  return `|bound=${JSON.stringify(boundHosts)}`;
}
