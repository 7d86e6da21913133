import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import { bearerAuth } from "./auth.ts";
import { BodyBudget } from "./body-budget.ts";
import { fastBodyLimit } from "./body-limit.ts";
import { hideTriggerIds } from "./hide-trigger-ids.ts";
import type { AppEnv, ManagerDeps } from "./env.ts";
import { errorBody, handleError } from "./http-errors.ts";
import { httpMetrics } from "./metrics.ts";
import { createInboundReceiver } from "./email/inbound-receiver.ts";
import { connectivityRoutes } from "./routes/connectivity.ts";
import { webhookRoutes } from "./routes/webhooks.ts";
import { countInbound } from "./inbound-counts.ts";
import { deadLetterRoutes } from "./routes/dead-letters.ts";
import { EMAIL_INBOUND_PATH, emailInboundRoutes } from "./routes/email-inbound.ts";
import { emailRoutes } from "./routes/emails.ts";
import { healthRoutes } from "./routes/health.ts";
import { buildOpenApi } from "./routes/openapi.ts";
import { RouteRegistry } from "./routes/registry.ts";
import { runStreamRoutes } from "./routes/runs-stream.ts";
import { HOOKS_PATH, hookRoutes } from "./routes/hooks.ts";
import { scriptRoutes } from "./routes/scripts.ts";
import { triggerRoutes } from "./routes/triggers.ts";
import { secretRoutes } from "./routes/secrets.ts";
import { statsRoutes } from "./routes/stats.ts";
import { sdkTypesRoutes } from "./routes/sdk-types.ts";
import { tenancyRoutes } from "./routes/tenancy.ts";
import { dashboardRoutes } from "./static.ts";

export const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;
/** API.md's default for SWITCHYARD_EMAIL_MAX_BYTES (25 MiB). */
export const DEFAULT_EMAIL_MAX_BYTES = 25 * 1024 * 1024;
/** Public routes whose bodies are capped by their trigger, not by the admin cap. */
const PUBLIC_BODY_ROUTES = ["/api/v1/email-inbound/", "/api/v1/hooks/"];

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
  const emailMaxBytes = deps.emailMaxBytes ?? DEFAULT_EMAIL_MAX_BYTES;
  const inbound =
    deps.inbound ??
    createInboundReceiver({ database: deps.database, secrets: deps.secrets, logger: deps.logger, maxBytes: emailMaxBytes, smtpDomain: null });
  // Two of the largest emails at once, and never less than 64 MiB: a
  // largest email must always fit, and small bodies should not wait on one.
  const budget = new BodyBudget(deps.inboundBudgetBytes ?? Math.max(64 * 1024 * 1024, 2 * emailMaxBytes), deps.bodyReadTimeoutMs);

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
  const apiLimit = fastBodyLimit({
    maxSize: maxBytes,
    onError: (c) => c.json(errorBody("too_large", `the request body exceeds ${maxBytes} bytes`, { limit: maxBytes }), 413),
  });
  // Hooks and inbound email read their bodies to their trigger's own cap
  // (max_body_bytes; SWITCHYARD_EMAIL_MAX_BYTES), after looking it up.
  app.use("/api/*", (c, next) => (PUBLIC_BODY_ROUTES.some((p) => c.req.path.startsWith(p)) ? next() : apiLimit(c, next)));
  app.use("/api/v1/admin/*", bearerAuth(deps.database, deps.logger));
  const hiding = hideTriggerIds(deps.database);
  app.use("/api/v1/admin/apps/:appId/*", hiding);
  // Their audit rows name triggers of every app below them.
  app.use("/api/v1/admin/workspaces/:workspaceId/*", hiding);
  app.use("/api/v1/admin/global/*", hiding);

  if (deps.inboundTally) {
    app.use(EMAIL_INBOUND_PATH, countInbound(deps.inboundTally, inbound.triggers, "email"));
    app.use(HOOKS_PATH, countInbound(deps.inboundTally, inbound.triggers, "http"));
  }

  healthRoutes(app, deps);
  const routes = new RouteRegistry(app);
  tenancyRoutes(routes, deps);
  secretRoutes(routes, deps);
  runStreamRoutes(routes, deps, deps.runStream);
  scriptRoutes(routes, deps);
  triggerRoutes(routes, deps, inbound);
  hookRoutes(routes, { database: deps.database, logger: deps.logger, triggers: inbound.triggers, budget });
  deadLetterRoutes(routes, deps);
  connectivityRoutes(routes, deps);
  webhookRoutes(routes, deps);
  statsRoutes(routes, deps);
  emailRoutes(routes, deps);
  emailInboundRoutes(routes, inbound, budget);
  sdkTypesRoutes(routes, deps);

  const openapi = buildOpenApi(routes, deps.version ?? "dev");
  app.get("/api/v1/openapi.json", (c) => c.json(openapi));

  dashboardRoutes(app, { dir: deps.dashboardDir });
  app.notFound((c) => c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404));
  app.onError((error, c) => handleError(error, c, deps.logger));
  return app;
}
