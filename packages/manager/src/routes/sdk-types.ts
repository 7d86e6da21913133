import { createHash } from "node:crypto";
import { errorBody } from "../http-errors.ts";
import type { RouteRegistry } from "./registry.ts";

export const SDK_TYPES_PATH = "/api/v1/sdk.d.ts";

/**
 * `GET /api/v1/sdk.d.ts`: the TypeScript declarations of everything a
 * script sees (`@switchyard/executor`'s types/switchyard.d.ts, handed in by
 * the composition root). Public, like the OpenAPI document: it is the
 * script contract and holds nothing of any tenant. The dashboard's editor
 * loads it; an ETag lets it revalidate for nothing.
 */
export function sdkTypesRoutes(routes: RouteRegistry, deps: { sdkTypes?: string | undefined }): void {
  const text = deps.sdkTypes;
  const etag = text === undefined ? null : `"${createHash("sha256").update(text).digest("base64url").slice(0, 27)}"`;
  routes.add(
    { method: "get", path: SDK_TYPES_PATH, summary: "TypeScript declarations of everything a script sees (application/typescript)", tag: "public", public: true },
    (c) => {
      if (text === undefined || etag === null) return c.json(errorBody("not_configured", "this server was started without the script declarations"), 503);
      const headers = { "Content-Type": "application/typescript; charset=utf-8", "Cache-Control": "no-cache", ETag: etag };
      if (c.req.header("if-none-match") === etag) return c.body(null, 304, headers);
      return c.body(text, 200, headers);
    },
  );
}
