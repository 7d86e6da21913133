import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { Counter, Histogram, type Registry } from "prom-client";

/** Request counts and durations by route pattern (never the raw path: ids would explode cardinality). */
export function httpMetrics(registry: Registry): MiddlewareHandler {
  const requests = new Counter({
    name: "switchyard_http_requests_total",
    help: "HTTP requests by method, route and status",
    labelNames: ["method", "route", "status"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "switchyard_http_request_duration_seconds",
    help: "HTTP request duration by method and route",
    labelNames: ["method", "route"],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return async (c, next) => {
    const started = performance.now();
    await next();
    const route = routePath(c, -1) || "unmatched";
    requests.inc({ method: c.req.method, route, status: String(c.res.status) });
    duration.observe({ method: c.req.method, route }, (performance.now() - started) / 1000);
  };
}
