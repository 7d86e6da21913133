import { TOKEN_SCOPES } from "@switchyard/core";
import { z } from "zod";

/** Names of workspaces and apps: short, URL- and CLI-friendly. */
export const resourceName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "use 1-63 lower-case letters, digits and dashes, starting with a letter or digit");

export const tokenCreateBody = z.strictObject({
  name: z.string().min(1).max(100),
  scopes: z.array(z.enum(TOKEN_SCOPES)).min(1),
  workspace_id: z.string().min(1).nullish(),
});

export const workspaceCreateBody = z.strictObject({ name: resourceName });

export const appCreateBody = z.strictObject({ name: resourceName, workspace_id: z.string().min(1).optional() });

export const appListQuery = z.strictObject({ workspace_id: z.string().min(1).optional() });
