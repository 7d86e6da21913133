import { isAllowedHost, parseAddress, type EgressPolicy } from "@switchyard/egress";
import { ValidationError } from "../errors.ts";

export const MAX_WEBHOOK_URL_LENGTH = 2048;

const refuse = (message: string) => new ValidationError(message, { issues: [{ path: "url", message }] });

/**
 * Checks an operator webhook's URL before it is stored. It must be `https`,
 * or `http` to a destination the operator opened in the egress policy
 * (SWITCHYARD_EGRESS_ALLOW: a receiver on this machine or the private
 * network); carry no credentials and no fragment; and an address literal must
 * be one the policy lets us reach. A name is checked where it matters, on the
 * addresses it resolves to at each delivery (egress connects checked).
 *
 * @example
 * checkWebhookUrl("https://hooks.example.com/switchyard", policy); // URL
 * checkWebhookUrl("http://10.0.0.5/hook", policy);                 // ValidationError unless 10.0.0.5 is opened
 */
export function checkWebhookUrl(raw: string, policy: EgressPolicy): URL {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) throw refuse(`the url is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse("the url is not an absolute URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw refuse("the url must be https (or http to a destination the operator opened)");
  if (url.username || url.password) throw refuse("the url must not carry credentials (user:password@)");
  if (url.hash) throw refuse("the url must not have a fragment (#...): it is never sent");
  if (url.protocol === "http:" && !isAllowedHost(policy.allow, url)) {
    throw refuse("plain http is accepted only to a destination the operator opened in SWITCHYARD_EGRESS_ALLOW; use https");
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (parseAddress(host)) {
    const port = Number(url.port) || (url.protocol === "https:" ? 443 : 80);
    const decision = policy.check(host, host, port);
    if (!decision.ok) throw refuse(`the egress policy refuses that destination: ${decision.reason}`);
  }
  return url;
}
