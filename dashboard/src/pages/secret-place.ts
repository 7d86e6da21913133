import type { SecretPlace } from "../api/admin.ts";
import type { App, SecretScope } from "../api/types.ts";

export const SCOPE_LABEL: Record<SecretScope, string> = { app: "this app", workspace: "workspace", global: "global" };

/** Where a secret of `scope`, seen from `app`, is managed. */
export const placeOf = (app: App, scope: SecretScope): SecretPlace => ({ scope, appId: app.id, workspaceId: app.workspace_id });
