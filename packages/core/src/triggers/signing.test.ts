import { describe, expect, it } from "vitest";
import { KEEP_SECRETS, planSecretChange, ROTATION_GRACE_MS, standardSecret, type StoredSecrets } from "./signing.ts";

const now = new Date("2026-01-01T00:00:00Z");
const sealed = Buffer.from("current-sealed");
const previous = Buffer.from("previous-sealed");
const signed: StoredSecrets = { signing: "standard_webhooks", secretSealed: sealed, secretPreviousSealed: null };
const fresh = standardSecret(true);

describe("planSecretChange", () => {
  it("keeps the secret, and a running grace period, while the way of signing stays the same", () => {
    expect(planSecretChange(signed, { signing: "standard_webhooks", secret: fresh, rotate: false }, now)).toEqual(KEEP_SECRETS);
    expect(planSecretChange({ ...signed, secretPreviousSealed: previous }, { signing: "standard_webhooks", secret: fresh, rotate: false }, now)).toEqual(KEEP_SECRETS);
    expect(planSecretChange({ signing: "none", secretSealed: null, secretPreviousSealed: null }, { signing: "none", secret: standardSecret(false), rotate: false }, now)).toEqual(KEEP_SECRETS);
  });

  it("rotates: a new secret, the current one accepted for the grace period", () => {
    expect(planSecretChange(signed, { signing: "standard_webhooks", secret: fresh, rotate: true }, now)).toEqual({
      replace: fresh,
      previous: { kind: "set", sealed, until: new Date(now.getTime() + ROTATION_GRACE_MS) },
    });
  });

  it("replaces the secret without grace when the way of signing changes, or a Mailgun key is given again", () => {
    const off = standardSecret(false);
    expect(planSecretChange({ ...signed, secretPreviousSealed: previous }, { signing: "none", secret: off, rotate: false }, now)).toEqual({ replace: off, previous: { kind: "clear" } });
    expect(planSecretChange({ signing: "none", secretSealed: null, secretPreviousSealed: null }, { signing: "standard_webhooks", secret: fresh, rotate: false }, now)).toEqual({ replace: fresh, previous: { kind: "clear" } });
    const key = { value: "mailgun-key-2", reveal: false };
    expect(planSecretChange({ signing: "mailgun", secretSealed: sealed, secretPreviousSealed: null }, { signing: "mailgun", secret: key, rotate: false }, now)).toEqual({ replace: key, previous: { kind: "clear" } });
  });
});
