/**
 * An app's narrowing of where its scripts may fetch: its EGRESS_ALLOWED_HOSTS
 * setting, as every scope that sets it has it (global, workspace, app), met
 * into ONE list of egress rules for the fetch client's `allowedHosts`. A URL
 * the met list allows is allowed by every layer's list, so a workspace token
 * writing an app's setting cannot lift a global one, and the operator's
 * egress policy still decides every connection: nothing here opens anything.
 *
 * @example
 * // global "*.example.com", app "api.example.com, 10.0.0.0/8"
 * await readAppAllowedHosts(secrets, appId, actor); // { ok: true, value: [api.example.com] }
 */
import { readAppEgressAllowedHosts, SettingError, type Principal, type SecretsService } from "@switchyard/core";
import { EgressRuleError, parseEgressRule, parseEgressRules, type EgressRule } from "@switchyard/egress";

/** The app's narrowing: null when no scope sets one; an error (every fetch refused) when a layer cannot be read. */
export type AppAllowedHosts = { ok: true; value: EgressRule[] | null } | { ok: false; error: string };

export async function readAppAllowedHosts(secrets: SecretsService, appId: string, actor: Principal): Promise<AppAllowedHosts> {
  let layers: string[][] | null;
  try {
    layers = await readAppEgressAllowedHosts(secrets, appId, actor);
  } catch (error) {
    if (error instanceof SettingError) return { ok: false, error: error.message };
    throw error;
  }
  if (layers === null) return { ok: true, value: null };
  try {
    return { ok: true, value: intersectEgressRules(layers.map((layer) => parseEgressRules(layer))) };
  } catch (error) {
    // The entry itself is not repeated: a setting is a secret like any other.
    if (error instanceof EgressRuleError) return { ok: false, error: "the app secret EGRESS_ALLOWED_HOSTS holds an entry that is not a host, *.domain, an address or a CIDR (each optionally :port)" };
    throw error;
  }
}

/**
 * The rules a URL must match one of to match one rule of every layer. The
 * pairwise meets of two lists are exactly what both allow, or less (an IPv4
 * and an IPv6 network never meet): never more. No layers, no rules.
 */
export function intersectEgressRules(layers: readonly (readonly EgressRule[])[]): EgressRule[] {
  let result: EgressRule[] | null = null;
  for (const layer of layers) {
    result = result === null ? [...layer] : result.flatMap((a) => layer.flatMap((b) => meet(a, b) ?? []));
  }
  return result ?? [];
}

/** The rule matching exactly the URLs both match, or null when none. */
function meet(a: EgressRule, b: EgressRule): EgressRule | null {
  if (a.port !== null && b.port !== null && a.port !== b.port) return null;
  const port = a.port ?? b.port;
  if (a.kind === "host" && b.kind === "host") {
    const narrower = covers(a, b) ? b : covers(b, a) ? a : null;
    return narrower && parseEgressRule(`${narrower.subdomains ? "*." : ""}${narrower.host}${port === null ? "" : `:${port}`}`);
  }
  if (a.kind === "network" && b.kind === "network" && a.family === b.family) {
    const [wide, narrow] = a.prefix <= b.prefix ? [a, b] : [b, a];
    if (!wide.list.check(narrow.network, narrow.family === 4 ? "ipv4" : "ipv6")) return null;
    const cidr = `${narrow.network}/${narrow.prefix}`;
    return parseEgressRule(port === null ? cidr : narrow.family === 6 ? `[${cidr}]:${port}` : `${cidr}:${port}`);
  }
  // A name and an address never match the same URL.
  return null;
}

type HostRule = Extract<EgressRule, { kind: "host" }>;

/** Whether every name `inner` matches, `outer` matches too (ports aside). */
function covers(outer: HostRule, inner: HostRule): boolean {
  if (!outer.subdomains) return !inner.subdomains && inner.host === outer.host;
  return inner.host.endsWith(`.${outer.host}`) || (inner.subdomains && inner.host === outer.host);
}
