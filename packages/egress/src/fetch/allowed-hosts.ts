/**
 * An app's own narrowing of where its scripts may fetch (its
 * EGRESS_ALLOWED_HOSTS setting): entries in the operator rules' syntax
 * (`api.example.com`, `*.example.com`, `host:port`, an address or a CIDR)
 * that the URL of the fetch, and of every redirect hop, must match. It only
 * narrows: the operator's policy still decides each connection, so an
 * internal address the operator has not opened stays refused whatever the
 * app lists.
 *
 * A name matches as the URL writes it. An address or CIDR entry matches
 * only a URL whose host is an address: connections are pooled by name and
 * shared between apps, so a name's connected address is not this check's to
 * see (the policy checks it).
 *
 * @example
 * const allowedHosts = parseEgressRules("api.stripe.com, *.example.com:443");
 * await client.fetch(request, { signal, allowedHosts });
 */
import { parseAddress } from "../address.ts";
import { canonicalName, ruleMatches, type EgressRule } from "../rules.ts";

// Host rules never read the address; ruleMatches takes one all the same.
const NO_ADDRESS = parseAddress("::") as NonNullable<ReturnType<typeof parseAddress>>;

/** Whether `url` is among `allowed`; an empty list allows nothing. */
export function isAllowedHost(allowed: readonly EgressRule[], url: URL): boolean {
  const port = Number(url.port) || (url.protocol === "https:" ? 443 : 80);
  const literal = parseAddress(url.hostname);
  if (literal) return allowed.some((rule) => ruleMatches(rule, null, literal, port, false));
  const name = canonicalName(url.hostname);
  if (name === null) return false;
  return allowed.some((rule) => rule.kind === "host" && ruleMatches(rule, name, NO_ADDRESS, port, false));
}

/**
 * Whether `url` may carry a host-bound secret under `rules`: as
 * isAllowedHost, except that plain `http:` needs an entry that names its
 * port. A binding to `api.example.com` means that API over TLS; sending its
 * credential in clear (a script's `http://` URL, or a redirect down to one)
 * must be asked for by naming the port (`api.example.com:80`).
 */
export function isBoundHost(rules: readonly EgressRule[], url: URL): boolean {
  return isAllowedHost(url.protocol === "https:" ? rules : rules.filter((rule) => rule.port !== null), url);
}
