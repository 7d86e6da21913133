import { and, desc, eq, gt } from "drizzle-orm";
import { secretVersions, type Db } from "@switchyard/db";
import { ForbiddenError } from "../errors.ts";
import { hasScope, type Principal } from "../principal.ts";
import { bindingLoosens } from "./binding.ts";
import type { SealedRow } from "./sealed-cache.ts";
import { deny, type Target } from "./target.ts";
import type { OpenableRow, Vault } from "./vault.ts";

/**
 * Who may loosen a binding. Unbinding a stored value, or letting it reach a
 * host its binding did not cover, is a way to read it: a script could then
 * read the value, or send it anywhere. So a write that keeps a stored value
 * but loosens its binding needs `secrets:reveal` besides `secrets:write`; a
 * write with a value of the writer's own needs only `secrets:write`.
 */
export const mayLoosen = (principal: Principal) => hasScope(principal, "secrets:reveal");

/** What a refused loosening names: the binding the value had and the one asked for. */
export interface Loosening {
  from: string[] | null;
  to: string[] | null;
}

/**
 * Whether `set` of `json` with binding `to` loosens the binding of the value
 * stored now. Only a write of the same value does: the value is compared under
 * the row lock, inside `tx`. (Answering 403 only for the stored value confirms
 * a guess of it to a writer that may not reveal; a guess of a value worth
 * binding is hopeless, and each is audited as denied.)
 */
export async function setLoosens(vault: Vault, tx: Db, target: Target, current: SealedRow | undefined, json: Buffer, to: string[] | null): Promise<Loosening | null> {
  const from = current?.boundHosts ?? null;
  if (!current || !bindingLoosens(from, to)) return null;
  const stored = await vault.openRow(target.own, current, tx);
  return JSON.stringify(stored) === json.toString("utf8") ? { from, to } : null;
}

/**
 * Whether rolling back to `old` (whose value is `value`) loosens a binding:
 * when `old`'s binding is looser than the current one, or than the binding of
 * any later version that holds the same value. The second catches a value
 * bound later and then replaced: without it, setting a new unbound value and
 * rolling back to the old value's unbound version would unbind it.
 */
export async function rollbackLoosens(vault: Vault, tx: Db, target: Target, current: SealedRow, old: OpenableRow, value: unknown): Promise<Loosening | null> {
  const to = old.boundHosts ?? null;
  const now = current.boundHosts ?? null;
  if (bindingLoosens(now, to)) return { from: now, to };
  const later = await tx
    .select()
    .from(secretVersions)
    .where(and(eq(secretVersions.secretId, current.id), gt(secretVersions.version, old.version)))
    .orderBy(desc(secretVersions.version));
  const text = JSON.stringify(value);
  for (const row of later) {
    const from = row.boundHosts ?? null;
    if (!bindingLoosens(from, to)) continue;
    const held = await vault.openRow(target.own, { name: current.name, version: row.version, ciphertext: row.ciphertext, dataKeyId: row.dataKeyId, boundHosts: row.boundHosts }, tx);
    if (JSON.stringify(held) === text) return { from, to };
  }
  return null;
}

/** Audits the refusal as denied (outside the write's transaction, so the row stays), then answers 403. */
export async function refuseLoosening(db: Db, principal: Principal, target: Target, action: string, name: string, loosening: Loosening): Promise<never> {
  return deny(
    { db, principal, target, action, name },
    new ForbiddenError("loosening a secret's host binding without changing its value needs the secrets:reveal scope (a looser binding is a way to read the value)", {
      required: "secrets:reveal",
      bound_hosts: loosening.from,
      requested_bound_hosts: loosening.to,
    }),
    "loosens_binding",
  );
}
