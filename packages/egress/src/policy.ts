/**
 * The destination policy shared by a script's `fetch` and an app's own SMTP
 * server: loopback, private, link-local, CGNAT, metadata and other internal
 * addresses are refused unless the operator opens them (`allow`); anything
 * the operator closes (`deny`) is refused even when also opened. It is
 * applied to the address actually connected to: `lookup` resolves, checks
 * every address and answers only the allowed ones, so a name cannot resolve
 * to a public address for the check and a private one for the connection.
 *
 * @example
 * const policy = createEgressPolicy({ allow: ["10.1.2.0/24"], deny: ["*.internal.example"] });
 * policy.check("api.example.com", "127.0.0.1", 443); // { ok: false, code: "egress_denied", reason: "..." }
 * net.connect({ host: "api.example.com", port: 443, lookup: policy.lookupFor(443) });
 */
import { promises as dns, type LookupAddress, type LookupOptions } from "node:dns";
import type { LookupFunction } from "node:net";
import { parseAddress } from "./address.ts";
import { classifyParsed, type AddressCategory } from "./classify.ts";
import { EgressError } from "./errors.ts";
import { canonicalName, parseEgressRules, ruleMatches, type EgressRule } from "./rules.ts";

export type EgressDecision = { ok: true } | { ok: false; code: "egress_denied"; reason: string };

/** A name's addresses, as `dns.lookup(name, { all: true })` answers. */
export type EgressResolver = (hostname: string) => Promise<readonly LookupAddress[]>;

export interface EgressPolicyOptions {
  /** Destinations opened beyond the default (entries as parseEgressRules reads them, or parsed rules). */
  allow?: readonly (string | EgressRule)[];
  /** Destinations closed whatever else says. */
  deny?: readonly (string | EgressRule)[];
  /** How names resolve; the system resolver (getaddrinfo, so /etc/hosts too) by default. */
  resolver?: EgressResolver;
}

export type ResolveResult = { ok: true; value: LookupAddress[] } | { ok: false; error: EgressError };

export interface EgressPolicy {
  readonly allow: readonly EgressRule[];
  readonly deny: readonly EgressRule[];
  /** Whether `address` may be reached for a request to `hostname` (as written) on `port` (null: not known). */
  check(hostname: string, address: string, port: number | null): EgressDecision;
  /** The allowed addresses of `hostname` (an address literal in any spelling is its own answer). */
  resolve(hostname: string, port: number | null): Promise<ResolveResult>;
  /** A `lookup` for net.connect, tls.connect or undici's connector, for connections to `port`. */
  lookupFor(port: number | null): LookupFunction;
  /** The same, port unknown: a rule with a port never opens, and always closes. */
  readonly lookup: LookupFunction;
  /** This policy with more rules (the SMTP servers the operator opened for apps, say). */
  with(extra: { allow?: readonly (string | EgressRule)[]; deny?: readonly (string | EgressRule)[] }): EgressPolicy;
}

const LABELS: Record<AddressCategory, string> = {
  loopback: "a loopback",
  private: "a private",
  link_local: "a link-local",
  metadata: "a cloud metadata",
  cgnat: "a shared (CGNAT)",
  unspecified: "an unspecified",
  multicast: "a multicast",
  broadcast: "the broadcast",
  reserved: "a reserved",
};

const rulesOf = (entries: readonly (string | EgressRule)[] | undefined): EgressRule[] =>
  (entries ?? []).flatMap((entry) => (typeof entry === "string" ? parseEgressRules(entry) : [entry]));

const systemResolver: EgressResolver = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

/** Builds a policy; throws EgressRuleError (naming the entry) when an entry cannot be read. */
export function createEgressPolicy(options: EgressPolicyOptions = {}): EgressPolicy {
  const allow = rulesOf(options.allow);
  const deny = rulesOf(options.deny);
  const resolver = options.resolver ?? systemResolver;

  function check(hostname: string, address: string, port: number | null): EgressDecision {
    const parsed = parseAddress(address);
    if (!parsed) return refuse(`${JSON.stringify(address)} is not an IP address`);
    // Host rules compare names; an address literal is matched by the address rules.
    const name = parseAddress(hostname) ? null : canonicalName(hostname);
    const shown = name && name !== parsed.address ? `${name} (${parsed.address})` : parsed.address;
    const closing = deny.find((rule) => ruleMatches(rule, name, parsed, port, true));
    if (closing) return refuse(`${shown} is closed by the operator's rule ${JSON.stringify(closing.text)}`);
    const internal = classifyParsed(parsed);
    if (!internal) return { ok: true };
    if (allow.some((rule) => ruleMatches(rule, name, parsed, port, false))) return { ok: true };
    const via = internal.address === parsed.address ? "" : ` (it leads to ${internal.address})`;
    return refuse(`${shown} is ${LABELS[internal.category]} address${via}, which the operator has not opened`);
  }

  async function resolve(hostname: string, port: number | null): Promise<ResolveResult> {
    const literal = parseAddress(hostname);
    let candidates: readonly LookupAddress[];
    if (literal) {
      candidates = [{ address: literal.address, family: literal.family }];
    } else {
      const name = canonicalName(hostname);
      if (!name) return { ok: false, error: new EgressError("egress_denied", `${JSON.stringify(hostname.slice(0, 260))} is not a host name`) };
      try {
        candidates = await resolver(name);
      } catch (error) {
        return { ok: false, error: new EgressError("dns_failed", `${name} did not resolve (${(error as { code?: string }).code ?? "error"})`, { cause: error }) };
      }
      if (candidates.length === 0) return { ok: false, error: new EgressError("dns_failed", `${name} has no addresses`) };
    }
    const allowed: LookupAddress[] = [];
    let refusal: string | null = null;
    // Every address is checked: one allowed address does not let the others through.
    for (const candidate of candidates) {
      const decision = check(hostname, candidate.address, port);
      if (decision.ok) allowed.push({ address: parseAddress(candidate.address)?.address ?? candidate.address, family: candidate.family });
      else refusal ??= decision.reason;
    }
    if (allowed.length === 0) return { ok: false, error: new EgressError("egress_denied", refusal ?? "no address allowed") };
    return { ok: true, value: allowed };
  }

  function lookupFor(port: number | null): LookupFunction {
    return (hostname, options, callback) => {
      const opts: LookupOptions = typeof options === "object" && options !== null ? options : {};
      resolve(hostname, port).then(
        (result) => {
          if (!result.ok) return callback(result.error as NodeJS.ErrnoException, "", 0);
          const family = opts.family === "IPv4" ? 4 : opts.family === "IPv6" ? 6 : opts.family;
          const wanted = family === 4 || family === 6 ? result.value.filter((a) => a.family === family) : result.value;
          const first = wanted[0];
          if (!first) return callback(new EgressError("dns_failed", `${hostname} has no allowed IPv${String(family)} address`) as NodeJS.ErrnoException, "", 0);
          if (opts.all) callback(null, wanted);
          else callback(null, first.address, first.family);
        },
        (error: unknown) => callback(error as NodeJS.ErrnoException, "", 0),
      );
    };
  }

  return {
    allow,
    deny,
    check,
    resolve,
    lookupFor,
    lookup: lookupFor(null),
    with: (extra) => createEgressPolicy({ allow: [...allow, ...rulesOf(extra.allow)], deny: [...deny, ...rulesOf(extra.deny)], resolver }),
  };
}

function refuse(reason: string): EgressDecision {
  return { ok: false, code: "egress_denied", reason };
}
