import { generateWebhookSecret } from "@switchyard/crypto";

/**
 * How a public trigger (email or http) checks who is calling: Standard
 * Webhooks headers (a `whsec_` secret we generate), Mailgun's own HMAC (the
 * operator's Mailgun signing key; email only), or nothing but the
 * unguessable URL.
 */
export type TriggerSigning = "standard_webhooks" | "mailgun" | "none";

/** The secret a config change brings, before sealing. */
export interface TriggerSecret {
  /** What to seal and store in `secret_sealed`; null for unsigned triggers. */
  value: string | null;
  /** Shown to the caller once (a generated `whsec_`), never a key they gave us. */
  reveal: boolean;
}

/** How long a rotated-out signing secret is still accepted (as Svix does: a day). */
export const ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;

/** Associated data binding a trigger's sealed secret to that trigger. */
export const triggerSecretAad = (triggerId: string) => `switchyard/trigger-secret/v1|${triggerId}`;

/** A fresh Standard Webhooks secret when `on`, none otherwise. */
export const standardSecret = (on: boolean): TriggerSecret => (on ? { value: generateWebhookSecret(), reveal: true } : { value: null, reveal: false });

/** The secret columns of a trigger as stored. */
export interface StoredSecrets {
  signing: TriggerSigning;
  secretSealed: Buffer | null;
  secretPreviousSealed: Buffer | null;
}

/** What a config change asks of the secret. */
export interface RequestedSecret {
  signing: TriggerSigning;
  secret: TriggerSecret;
  rotate: boolean;
}

/**
 * What happens to a trigger's secret columns: `replace` is the secret to seal
 * as current (null: the current one stays); `previous` says what becomes of
 * the rotated-out secret and its grace period.
 */
export interface SecretPlan {
  replace: TriggerSecret | null;
  previous: { kind: "keep" } | { kind: "clear" } | { kind: "set"; sealed: Buffer; until: Date };
}

export const KEEP_SECRETS: SecretPlan = { replace: null, previous: { kind: "keep" } };

/**
 * The secret rotation rules, as one pure decision. A trigger keeps its secret
 * while its way of signing stays the same (a Mailgun key given again
 * replaces it); a change of way brings a new secret, or none. A rotation
 * keeps the old secret valid for ROTATION_GRACE_MS; any other replacement
 * ends a running grace period at once, and no replacement lets it run on.
 *
 * @example
 * planSecretChange({ signing: "standard_webhooks", secretSealed, secretPreviousSealed: null },
 *   { signing: "standard_webhooks", secret: standardSecret(true), rotate: true }, new Date());
 * // → { replace: { value: "whsec_…", reveal: true }, previous: { kind: "set", sealed: secretSealed, until: now + 1 day } }
 */
export function planSecretChange(current: StoredSecrets, next: RequestedSecret, now: Date): SecretPlan {
  const same = current.signing === next.signing;
  const replaces = !same || next.signing === "mailgun" || next.rotate;
  if (!replaces) return KEEP_SECRETS;
  if (same && next.rotate && current.secretSealed !== null) {
    return { replace: next.secret, previous: { kind: "set", sealed: current.secretSealed, until: new Date(now.getTime() + ROTATION_GRACE_MS) } };
  }
  return { replace: next.secret, previous: { kind: "clear" } };
}
