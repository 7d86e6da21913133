// Who the signed-in token is, loaded once per sign-in, so views offer only
// what the token may do. The server still decides: a view that guessed wrong
// handles the 403 as before and records it here, for this token only.

import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { SecretScope, Whoami } from "./api/types.ts";

export interface Identity {
  /** Undefined while loading, or when the server could not say (then views fall back to the 403). */
  whoami: Whoami | undefined;
  /** The server's words from a reveal refused with 403, if one was. */
  revealDenied: string | null;
  denyReveal: (message: string) => void;
}

export const IdentityContext = createContext<Identity>({ whoami: undefined, revealDenied: null, denyReveal: () => {} });

export const useIdentity = (): Identity => useContext(IdentityContext);

/** Whether the token has `scope`; `admin` implies every scope. Unknown (undefined) until whoami answers. */
export function hasScope(whoami: Whoami | undefined, scope: string): boolean | undefined {
  if (!whoami) return undefined;
  return whoami.scopes.includes("admin") || whoami.scopes.includes(scope);
}

/**
 * Why this token may not reveal a secret of `scope`, or null when it may (or
 * when that is not known yet). The rules are the service's: reveal needs
 * `secrets:reveal`, and global secrets need a token limited to no workspace.
 */
export function revealRefusal(identity: Identity, scope: SecretScope): string | null {
  if (identity.revealDenied) return identity.revealDenied;
  const { whoami } = identity;
  if (!whoami) return null;
  if (!hasScope(whoami, "secrets:reveal")) return "it lacks the secrets:reveal scope";
  if (scope === "global" && whoami.workspace_id !== null) return "it is limited to one workspace";
  return null;
}

/** The token's scopes in a few words, for the top bar. */
export function scopesLabel(whoami: Whoami): string {
  const scopes = whoami.scopes.length > 0 ? whoami.scopes.join(", ") : "no scopes";
  return whoami.workspace_id ? `${scopes} (one workspace)` : scopes;
}
