import type { Principal } from "../principal.ts";
import type { SecretsService } from "../secrets/service.ts";

/** App secrets that configure email for that app (inherited from workspace and global like any secret). */
export const EMAIL_SETTING_SECRETS = {
  smtpUrl: "SMTP_URL",
  from: "EMAIL_FROM",
  allowedSenders: "EMAIL_ALLOWED_SENDERS",
  allowedRecipients: "EMAIL_ALLOWED_RECIPIENTS",
  ratePerMinute: "EMAIL_RATE_LIMIT_PER_MINUTE",
} as const;

/** The limits, as the operator sets them for every app and each scope for those below it. */
export interface EmailLimits {
  allowedSenders: string[] | null;
  allowedRecipients: string[] | null;
  ratePerMinute: number | null;
}

export interface AppEmailSettingsValues extends EmailLimits {
  smtpUrl: string | null;
  from: string | null;
}

export const NO_EMAIL_LIMITS: EmailLimits = { allowedSenders: null, allowedRecipients: null, ratePerMinute: null };

/**
 * A list secret may be a JSON array of strings or a comma-separated string.
 * Anything else is refused, never read as "no restriction".
 */
function list(name: string, value: unknown, of = "addresses"): string[] {
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value;
  if (typeof value === "string") return value.split(",").map((v) => v.trim()).filter(Boolean);
  throw new SettingError(`the app secret ${name} must be a JSON array of ${of} or a comma-separated string`);
}

function rate(value: unknown): number {
  const number = typeof value === "number" ? value : typeof value === "string" ? Number(value) : NaN;
  if (!(Number.isInteger(number) && number > 0)) throw new SettingError(`the app secret ${EMAIL_SETTING_SECRETS.ratePerMinute} must be a whole number of messages a minute`);
  return number;
}

/** An email setting secret of the wrong form: sends fail (not_configured) until it is fixed. */
export class SettingError extends Error {
  override name = "SettingError";
}

const text = (value: unknown) => (typeof value === "string" && value.trim() !== "" ? value.trim() : null);

/**
 * Reads an app's email settings from its secrets through the vault's read
 * path, with the run as the audited reader. Only names that exist are read,
 * so an app without overrides costs a cache lookup and no audit rows.
 *
 * The server and sender (`SMTP_URL`, `EMAIL_FROM`) are the nearest scope's.
 * The limits are not: each scope that sets one (global, workspace, app), and
 * the operator, may only narrow what is above it. The allowlists are
 * intersected (an address must be allowed by every list) and the rate is the
 * lowest, so a workspace token writing an app's `EMAIL_ALLOWED_SENDERS`
 * cannot lift the operator's.
 *
 * @example
 * // global EMAIL_ALLOWED_SENDERS=@ops.example, app EMAIL_ALLOWED_SENDERS=@bank.example
 * (await readAppEmailSettings(secrets, appId, actor)).allowedSenders; // [] (nothing is both)
 */
export async function readAppEmailSettings(secrets: SecretsService, appId: string, actor: Principal, operator: EmailLimits = NO_EMAIL_LIMITS): Promise<AppEmailSettingsValues> {
  const present = new Set((await secrets.listSecretNames(appId)).map((s) => s.name));
  const nearest = async (name: string) => (present.has(name) ? ((await secrets.resolveSecret(appId, name, actor))?.value ?? null) : null);
  const layers = async <T>(name: string, read: (value: unknown) => T): Promise<T[]> =>
    present.has(name) ? (await secrets.resolveSecretInEachScope(appId, name, actor)).filter((hit) => hit.value !== null).map((hit) => read(hit.value)) : [];
  const senders = await layers(EMAIL_SETTING_SECRETS.allowedSenders, (v) => list(EMAIL_SETTING_SECRETS.allowedSenders, v));
  const recipients = await layers(EMAIL_SETTING_SECRETS.allowedRecipients, (v) => list(EMAIL_SETTING_SECRETS.allowedRecipients, v));
  const rates = await layers(EMAIL_SETTING_SECRETS.ratePerMinute, rate);
  if (operator.ratePerMinute !== null) rates.push(operator.ratePerMinute);
  return {
    smtpUrl: text(await nearest(EMAIL_SETTING_SECRETS.smtpUrl)),
    from: text(await nearest(EMAIL_SETTING_SECRETS.from)),
    allowedSenders: intersectAllowlists([operator.allowedSenders, ...senders]),
    allowedRecipients: intersectAllowlists([operator.allowedRecipients, ...recipients]),
    ratePerMinute: rates.length === 0 ? null : Math.min(...rates),
  };
}

/** The app setting (a secret, inherited like any) that narrows where the app's scripts may fetch. */
export const EGRESS_ALLOWED_HOSTS = "EGRESS_ALLOWED_HOSTS";

/**
 * The app's EGRESS_ALLOWED_HOSTS as each scope that sets it has it (nearest
 * first), entries as written (`api.example.com`, `*.example.com`,
 * `host:port`, an address or a CIDR); null when no scope sets it. Like the
 * email limits, every list narrows: a fetch must match one entry of each,
 * and the operator's egress policy still decides every connection, so no
 * list opens anything. Read through the vault with the run as the audited
 * reader; an app without it costs a cache lookup and no audit rows.
 *
 * @example
 * // global EGRESS_ALLOWED_HOSTS="*.example.com", app EGRESS_ALLOWED_HOSTS=["api.example.com"]
 * await readAppEgressAllowedHosts(secrets, appId, actor); // [["api.example.com"], ["*.example.com"]]
 */
export async function readAppEgressAllowedHosts(secrets: SecretsService, appId: string, actor: Principal): Promise<string[][] | null> {
  const present = (await secrets.listSecretNames(appId)).some((s) => s.name === EGRESS_ALLOWED_HOSTS);
  if (!present) return null;
  const layers = (await secrets.resolveSecretInEachScope(appId, EGRESS_ALLOWED_HOSTS, actor)).filter((hit) => hit.value !== null);
  return layers.length === 0 ? null : layers.map((hit) => list(EGRESS_ALLOWED_HOSTS, hit.value, "hosts"));
}

/**
 * The addresses every list allows, as one list of the same kind of entries
 * (`a@example.com` for one address, `@example.com` or `example.com` for a
 * domain): null lists restrict nothing; null when none restricts. Two
 * entries meet in the narrower one (a domain and an address in it: the
 * address) or not at all, so the pairwise meets are exactly the addresses
 * both lists allow. An empty answer allows nothing.
 */
export function intersectAllowlists(lists: readonly (readonly string[] | null)[]): string[] | null {
  let result: string[] | null = null;
  for (const current of lists) {
    if (current === null) continue;
    const entries = current.map(entryOf).filter((e) => e !== "@");
    result = result === null ? [...new Set(entries)] : [...new Set(result.flatMap((a) => entries.map((b) => meet(a, b)).filter((m): m is string => m !== null)))];
  }
  return result;
}

/** One spelling: lowercase `local@domain`, or `@domain` for a whole domain. */
function entryOf(raw: string): string {
  const entry = raw.trim().toLowerCase();
  return entry.includes("@") && !entry.startsWith("@") ? entry : `@${entry.replace(/^@/, "")}`;
}

function meet(a: string, b: string): string | null {
  const domain = (e: string) => e.slice(e.lastIndexOf("@") + 1);
  const aDomain = a.startsWith("@");
  const bDomain = b.startsWith("@");
  if (aDomain && bDomain) return a === b ? a : null;
  if (aDomain) return domain(b) === domain(a) ? b : null;
  if (bDomain) return domain(a) === domain(b) ? a : null;
  return a === b ? a : null;
}
