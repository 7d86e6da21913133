import { RetryLaterError, SwitchyardError, type ErrorCode, type Logger } from "@switchyard/core";
import { InboundError } from "@switchyard/email";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ZodError } from "zod";

const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unprocessable: 422,
  rate_limited: 429,
  overloaded: 503,
  request_timeout: 408,
  not_configured: 503,
  not_ready: 503,
  audit_unavailable: 503,
  decrypt_failed: 500,
  unsupported_character: 400,
  too_deep: 400,
  unsupported_number: 400,
  invalid_cursor: 400,
};

/** API.md's error body. */
export function errorBody(code: string, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

export function zodDetails(error: ZodError) {
  return error.issues.map((issue) => ({ path: issue.path.join("."), code: issue.code, message: issue.message }));
}

/**
 * The one place errors become HTTP answers: domain codes map to statuses;
 * anything unexpected is a 500 whose body says nothing of its cause (the log does).
 */
export function handleError(error: Error, c: Context, logger: Logger): Response {
  if (error instanceof RetryLaterError) c.header("Retry-After", String(error.retryAfterSeconds));
  if (error instanceof SwitchyardError) {
    const status = STATUS[error.code];
    if (status >= 500 && !(error instanceof RetryLaterError)) logger.error({ err: error, code: error.code }, error.message);
    return c.json(errorBody(error.code, error.message, error.details), status);
  }
  // An inbound body the email package refused: its code has exactly one status.
  if (error instanceof InboundError) return c.json(errorBody(error.code, error.message, error.details), error.status);
  if (error instanceof ZodError) {
    return c.json(errorBody("invalid_input", "the request is not valid", zodDetails(error)), 400);
  }
  logger.error({ err: error, path: c.req.path }, "unhandled error");
  return c.json(errorBody("internal", "internal error"), 500);
}
