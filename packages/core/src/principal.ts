import { ForbiddenError } from "./errors.ts";

/** Token scopes of API.md; `admin` implies every other. */
export const TOKEN_SCOPES = [
  "admin",
  "apps:write",
  "scripts:read",
  "scripts:write",
  "secrets:read",
  "secrets:write",
  "secrets:reveal",
  "triggers:write",
  "runs:read",
] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** Who is asking: an API token (possibly limited to one workspace), a script run, or the system itself. */
export type Principal =
  | { type: "token"; id: string; scopes: ReadonlySet<TokenScope>; workspaceId: string | null }
  | { type: "run"; id: string; appId: string }
  | { type: "system"; id: string };

export function hasScope(principal: Principal, scope: TokenScope): boolean {
  if (principal.type !== "token") return principal.type === "system";
  return principal.scopes.has("admin") || principal.scopes.has(scope);
}

export function requireScope(principal: Principal, scope: TokenScope): void {
  if (!hasScope(principal, scope)) {
    throw new ForbiddenError(`this token lacks the ${scope} scope`, { required: scope });
  }
}

/** Whether the principal may touch things in `workspaceId` (tokens limited to one workspace see only it). */
export function canSeeWorkspace(principal: Principal, workspaceId: string): boolean {
  return principal.type !== "token" || principal.workspaceId === null || principal.workspaceId === workspaceId;
}

/** Global things (global secrets, workspaces, unlimited tokens) need a token limited to no workspace. */
export function requireUnlimited(principal: Principal): void {
  if (principal.type === "token" && principal.workspaceId !== null) {
    throw new ForbiddenError("this token is limited to one workspace", { workspace_id: principal.workspaceId });
  }
}

export function actorOf(principal: Principal): { actorType: Principal["type"]; actorId: string } {
  return { actorType: principal.type, actorId: principal.id };
}
