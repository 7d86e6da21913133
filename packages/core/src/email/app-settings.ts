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

export interface AppEmailSettingsValues {
  smtpUrl: string | null;
  from: string | null;
  allowedSenders: string[] | null;
  allowedRecipients: string[] | null;
  ratePerMinute: number | null;
}

/**
 * A list secret may be a JSON array of strings or a comma-separated string.
 * Anything else is refused, never read as "no restriction".
 */
function list(name: string, value: unknown): string[] | null {
  if (value === null) return null;
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value;
  if (typeof value === "string") return value.split(",").map((v) => v.trim()).filter(Boolean);
  throw new SettingError(`the app secret ${name} must be a JSON array of addresses or a comma-separated string`);
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
 */
export async function readAppEmailSettings(secrets: SecretsService, appId: string, actor: Principal): Promise<AppEmailSettingsValues> {
  const present = new Set((await secrets.listSecretNames(appId)).map((s) => s.name));
  const read = async (name: string) => (present.has(name) ? ((await secrets.resolveSecret(appId, name, actor))?.value ?? null) : null);
  const rate = await read(EMAIL_SETTING_SECRETS.ratePerMinute);
  const rateNumber = typeof rate === "number" ? rate : typeof rate === "string" ? Number(rate) : NaN;
  if (rate !== null && !(Number.isInteger(rateNumber) && rateNumber > 0)) {
    throw new SettingError(`the app secret ${EMAIL_SETTING_SECRETS.ratePerMinute} must be a whole number of messages a minute`);
  }
  return {
    smtpUrl: text(await read(EMAIL_SETTING_SECRETS.smtpUrl)),
    from: text(await read(EMAIL_SETTING_SECRETS.from)),
    allowedSenders: list(EMAIL_SETTING_SECRETS.allowedSenders, await read(EMAIL_SETTING_SECRETS.allowedSenders)),
    allowedRecipients: list(EMAIL_SETTING_SECRETS.allowedRecipients, await read(EMAIL_SETTING_SECRETS.allowedRecipients)),
    ratePerMinute: rate === null ? null : rateNumber,
  };
}
