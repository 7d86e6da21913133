import type { SecretScope } from "../data-keys.ts";
import type { Principal } from "../principal.ts";

/**
 * What happened to a secret:
 * - `created`: the name was set where it did not exist (set, import);
 * - `updated`: a new version of an existing secret (set, import);
 * - `binding_changed`: a new version whose host binding differs from the
 *   version before (its value may have changed too);
 * - `rolled_back`: an older version's value and binding made current again;
 * - `deleted`: the secret and its history are gone (`version` was the last).
 */
export type SecretChangeAction = "created" | "updated" | "binding_changed" | "rolled_back" | "deleted";

/** One change of one secret, as the secrets service records it. */
export interface SecretChange {
  name: string;
  scope: SecretScope;
  /** The app or workspace id; "" for the global scope. */
  scopeId: string;
  version: number;
  action: SecretChangeAction;
  actor: Principal;
  /** The workspace the scope belongs to (null for global): which workspace-limited webhooks hear it. */
  workspaceId: string | null;
}

/** Who made a change: a token's id, or `system`. Never a secret. */
export interface SecretChangeActor {
  type: Principal["type"];
  id: string;
}

/** The `secret_changed` fields, the same for a trigger's script and an operator webhook's `data`. Never the value, nor anything derived from it. */
export interface SecretChangedFields {
  name: string;
  scope: SecretScope;
  /** The app's or workspace's id; null for a global secret. */
  scope_id: string | null;
  /** The version the change made; for `deleted`, the last version there was. */
  version: number;
  action: SecretChangeAction;
  actor: SecretChangeActor;
}

/**
 * What a `secret_changed` trigger's script receives when a secret its app can
 * read changes: its own app's, its workspace's or a global one.
 *
 * @example
 * export default async function (event) {
 *   const { name, scope, action, version } = event.secret_changed;
 *   if (action !== "deleted") await fetch("https://cache.example.com/purge", { method: "POST", body: name });
 *   console.log(`${scope} secret ${name} ${action} (v${version})`);
 * }
 */
export interface SecretChangedEvent {
  kind: "secret_changed";
  secret_changed: SecretChangedFields;
}

export const changeFields = (change: SecretChange): SecretChangedFields => ({
  name: change.name,
  scope: change.scope,
  scope_id: change.scope === "global" ? null : change.scopeId,
  version: change.version,
  action: change.action,
  actor: { type: change.actor.type, id: change.actor.id },
});

/** The webhook event type of a secret change. */
export const SECRET_CHANGED_EVENT = "secret.changed";
