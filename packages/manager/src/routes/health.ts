import { checkReadiness } from "@switchyard/core";
import type { Hono } from "hono";
import type { AppEnv, ManagerDeps } from "../env.ts";
import { errorBody } from "../http-errors.ts";

export function healthRoutes(app: Hono<AppEnv>, deps: ManagerDeps): void {
  app.get("/healthz", (c) => c.json({ status: "ok", version: deps.version ?? "dev" }));

  app.get("/readyz", async (c) => {
    const readiness = await checkReadiness(deps.database);
    if (readiness.ready) return c.json({ status: "ready", database: deps.database.driver });
    const message = readiness.reason === "migrations_pending" ? "migrations are pending" : "the database is unreachable";
    return c.json(errorBody("not_ready", message, readiness), 503);
  });

  app.get("/metrics", async (c) => {
    c.header("Content-Type", deps.metrics.contentType);
    return c.body(await deps.metrics.metrics());
  });
}
