import { createConnectivityService } from "@switchyard/core";
import type { ManagerDeps } from "../env.ts";
import type { RouteRegistry } from "./registry.ts";

/**
 * The health of the APIs scripts fetch: per app, each destination host with
 * its status and the window's counts, latency and a per-worker breakdown;
 * across the apps the token may see, how many hosts are in each status.
 */
export function connectivityRoutes(routes: RouteRegistry, deps: ManagerDeps): void {
  const connectivity = deps.connectivity ?? createConnectivityService({ db: deps.database.db });
  const tag = "connectivity";

  routes.add(
    {
      method: "get",
      path: "/api/v1/admin/apps/:appId/connectivity",
      summary: "List the destination hosts of the app's fetches: status (healthy, degraded, down) and since when, requests, errors by code, p50/p95 over the window, last status, error and success, and each worker's share",
      tag,
      scope: "runs:read",
    },
    async (c, { principal }) => c.json(await connectivity.list(principal, c.req.param("appId") ?? "")),
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/admin/connectivity/health",
      summary: "Count the destination hosts in each status across the apps the token may see, with the worst as overall_status",
      tag,
      scope: "runs:read",
    },
    async (c, { principal }) => c.json(await connectivity.health(principal)),
  );
}
