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

/** A fleet-wide cap on events held at once; null clears it (the operator's default applies). */
export const concurrencyBody = z.strictObject({ concurrency: z.int().min(1).max(1_000_000).nullable() });

export const appListQuery = z.strictObject({ workspace_id: z.string().min(1).optional() });

type JsonValue = z.infer<ReturnType<typeof z.json>>;

/**
 * Any JSON value, passed on exactly as JSON.parse made it. zod's `z.json()`
 * rebuilds objects by assignment, which turns a `"__proto__"` key into the
 * prototype and so silently drops it from what is stored. The body is JSON by
 * construction, and the registry has already refused what PostgreSQL cannot
 * store, so there is nothing left to check but presence.
 */
export const jsonValue = z.custom<JsonValue>((value) => value !== undefined, "expected a JSON value");
