import { authenticateToken, type Logger } from "@switchyard/core";
import type { Database } from "@switchyard/core";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./env.ts";
import { errorBody } from "./http-errors.ts";

/**
 * Bearer-token authentication for the admin API. A missing, malformed, unknown
 * or revoked token is a 401 that does not say which.
 */
export function bearerAuth(database: Database, logger: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer ([A-Za-z0-9_-]+)$/.exec(header.trim());
    const principal = match?.[1] ? await authenticateToken(database.db, match[1]) : null;
    if (!principal) {
      logger.debug({ path: c.req.path }, "rejected admin request without a valid token");
      c.header("WWW-Authenticate", 'Bearer realm="switchyard"');
      return c.json(errorBody("unauthorized", "a valid bearer token is required"), 401);
    }
    c.set("principal", principal);
    await next();
  };
}
