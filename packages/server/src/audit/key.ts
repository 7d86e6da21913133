import { createDataKeyStore, type Db, type ScopeRef } from "@switchyard/core";
import type { Keyring, SecretKey } from "@switchyard/crypto";

/**
 * The audit chain's HMAC key is a data key of its own, stored wrapped by the
 * master keyring (an HSM's key when one holds it) like every data key: only
 * the service holds it unwrapped, `keys rotate` re-wraps it with the others,
 * and a backup carries it wrapped. It never seals a secret: the global secret
 * scope's id is '' and this one's is not, so no secret can ever resolve to it.
 */
export const AUDIT_KEY_SCOPE: ScopeRef = { scope: "global", scopeId: "audit-chain" };

/** The audit chain key, made (and wrapped by the active master key) on first use. */
export function sealingAuditKey(db: Db, keyring: Keyring): Promise<SecretKey> {
  return createDataKeyStore({ keyring }).getOrCreate(db, AUDIT_KEY_SCOPE);
}

/** The audit chain key, or null when nothing was ever sealed. Never creates one. */
export function findAuditKey(db: Db, keyring: Keyring): Promise<SecretKey | null> {
  return createDataKeyStore({ keyring }).find(db, AUDIT_KEY_SCOPE);
}
