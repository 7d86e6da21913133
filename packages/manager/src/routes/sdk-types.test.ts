import { Hono } from "hono";
import { describe, expect, test } from "vitest";
import type { AppEnv } from "../env.ts";
import { buildOpenApi } from "./openapi.ts";
import { RouteRegistry } from "./registry.ts";
import { SDK_TYPES_PATH, sdkTypesRoutes } from "./sdk-types.ts";

function appWith(sdkTypes: string | undefined) {
  const app = new Hono<AppEnv>();
  const routes = new RouteRegistry(app);
  sdkTypesRoutes(routes, { sdkTypes });
  return { app, routes };
}

describe("GET /api/v1/sdk.d.ts", () => {
  test("answers the declarations as application/typescript without a token, and 304 to a matching If-None-Match", async () => {
    const { app } = appWith("declare var secrets: Switchyard.Secrets;\n");
    const res = await app.request(SDK_TYPES_PATH);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/typescript; charset=utf-8");
    expect(await res.text()).toBe("declare var secrets: Switchyard.Secrets;\n");
    const etag = res.headers.get("etag");
    expect(etag).toMatch(/^"[\w-]{27}"$/);
    const again = await app.request(SDK_TYPES_PATH, { headers: { "if-none-match": etag ?? "" } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    const changed = await appWith("declare var email: Switchyard.Email;\n").app.request(SDK_TYPES_PATH, { headers: { "if-none-match": etag ?? "" } });
    expect(changed.status).toBe(200);
  });

  test("answers 503 not_configured when the composition root handed no declarations", async () => {
    const res = await appWith(undefined).app.request(SDK_TYPES_PATH);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_configured");
  });

  test("is in the OpenAPI document as a public route", () => {
    const doc = buildOpenApi(appWith("x").routes, "test") as { paths: Record<string, { get?: { security?: unknown } }> };
    expect(doc.paths[SDK_TYPES_PATH]?.get).toBeDefined();
    expect(doc.paths[SDK_TYPES_PATH]?.get?.security).toBeUndefined();
  });
});
