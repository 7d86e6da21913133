import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { bearerAuth } from "./auth.ts";
import type { AppEnv, ManagerDeps } from "./env.ts";
import { errorBody, handleError } from "./http-errors.ts";
import { httpMetrics } from "./metrics.ts";
import { deadLetterRoutes } from "./routes/dead-letters.ts";
import { healthRoutes } from "./routes/health.ts";
import { buildOpenApi } from "./routes/openapi.ts";
import { RouteRegistry } from "./routes/registry.ts";
import { hookRoutes } from "./routes/hooks.ts";
import { scriptRoutes } from "./routes/scripts.ts";
import { triggerRoutes } from "./routes/triggers.ts";
import { secretRoutes } from "./routes/secrets.ts";
import { tenancyRoutes } from "./routes/tenancy.ts";

export const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;

/**
 * The HTTP surface of Switchyard as a hono app: admin API, public endpoints,
 * health and metrics. It holds no state of its own; `deps` carries it.
 *
 * @example
 * const app = createManagerApp({ database, logger, metrics: new Registry() });
 * serve({ fetch: app.fetch, port: 8787 });
 */
export function createManagerApp(deps: ManagerDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const maxBytes = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  app.use("*", async (c, next) => {
    const requestId = c.req.header("x-request-id")?.slice(0, 64) || randomUUID();
    c.set("requestId", requestId);
    c.header("X-Request-Id", requestId);
    const started = performance.now();
    await next();
    deps.logger.info(
      { requestId, method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) },
      "request",
    );
  });
  app.use("*", httpMetrics(deps.metrics));
  app.use(
    "/api/*",
    bodyLimit({
      maxSize: maxBytes,
      onError: (c) => c.json(errorBody("too_large", `the request body exceeds ${maxBytes} bytes`, { limit: maxBytes }), 413),
    }),
  );
  app.use("/api/v1/admin/*", bearerAuth(deps.database, deps.logger));

  healthRoutes(app, deps);
  const routes = new RouteRegistry(app);
  tenancyRoutes(routes, deps);
  secretRoutes(routes, deps);
  scriptRoutes(routes, deps);
  triggerRoutes(routes, deps);
  hookRoutes(routes, deps);
  deadLetterRoutes(routes, deps);

  const openapi = buildOpenApi(routes, deps.version ?? "dev");
  app.get("/api/v1/openapi.json", (c) => c.json(openapi));

  app.notFound((c) => c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404));
  app.onError((error, c) => handleError(error, c, deps.logger));
  return app;
}
