/**
 * What `serve` needs once the keys are checked, in one module that
 * startServer imports lazily: a refused start (a bad key, a role without
 * DATABASE_URL) loads none of it, so it stays fast and touches nothing.
 */
export { serve as serveHttp } from "@hono/node-server";
export { createRunFeed, ensureBootstrapToken } from "@switchyard/core";
export { createSmtpListener } from "@switchyard/email";
export { sdkTypes } from "@switchyard/executor";
export { countSmtpDeliveries, createInboundReceiver, createManagerApp } from "@switchyard/manager";
export { collectDefaultMetrics, Registry } from "prom-client";
export { createAuditSealer } from "../audit/index.ts";
export { queueMetrics } from "../queue-metrics.ts";
export { migrateOrExplain, openDatabase } from "../runtime.ts";
export { createServices } from "../services.ts";
