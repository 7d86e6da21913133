import { MAX_BOUND_HOSTS } from "@switchyard/core";
import { z } from "zod";
import { jsonValue } from "./schemas.ts";

// Request bodies of the secrets routes, and their answers for the OpenAPI
// document (answers are documented, not validated).

const boundHostsDoc =
  "Hosts the value may be sent to: `host`, `host:port`, `*.domain` (its subdomains), or an IP address with an optional port; no ranges. " +
  "A bound value never enters the sandbox: scripts get a placeholder the host replaces in a fetch to one of these hosts. Stored canonical (lowercase, deduplicated, sorted).";

export const setBody = z.strictObject({
  name: z.string(),
  value: jsonValue.refine((v) => v !== null, "a secret value cannot be null (delete the secret instead)"),
  bound_hosts: z
    .array(z.string().max(300))
    .max(MAX_BOUND_HOSTS)
    .nullable()
    .optional()
    .describe(`${boundHostsDoc} Omitted: the current binding is kept. null or []: the secret is unbound. Loosening the binding of an unchanged value needs secrets:reveal.`),
});

export const rollbackBody = z.strictObject({ version: z.number().int().positive() });

const scope = z.enum(["app", "workspace", "global"]);
const boundHosts = z.array(z.string()).nullable().describe(`${boundHostsDoc} null when unbound.`);
const time = z.string().describe("ISO 8601 timestamp");

export const listAnswer = z.object({
  secrets: z.array(
    z.object({ name: z.string(), scope, version: z.number().int(), size: z.number().int(), updated_at: time, bound_hosts: boundHosts, overrides: z.array(scope) }),
  ),
});

export const writeAnswer = z.object({ name: z.string(), scope, version: z.number().int(), updated_at: time, bound_hosts: boundHosts });

export const rollbackAnswer = writeAnswer.extend({ rolled_back_to: z.number().int() });

export const metadataAnswer = z.object({
  name: z.string(),
  scope,
  version: z.number().int(),
  size: z.number().int().describe("bytes of the value's JSON"),
  created_at: time,
  updated_at: time,
  updated_by: z.string(),
  bound_hosts: boundHosts,
  preview: z.string().describe("the first 4 characters of an unbound value of 12 or more, else none; none at all of a bound value: `(bound) ••••••••`"),
});

export const revealAnswer = z.object({ name: z.string(), value: z.unknown(), scope, version: z.number().int(), bound_hosts: boundHosts });

export const versionsAnswer = z.object({
  versions: z.array(
    z.object({
      version: z.number().int(),
      size: z.number().int(),
      created_at: time,
      created_by: z.string(),
      origin: z.string().describe("set, import, or rollback:<version>"),
      bound_hosts: boundHosts,
      current: z.boolean(),
    }),
  ),
});
