/**
 * Domain errors: a fixed `name`, a stable `code`, optional `details`, and the
 * original `cause`. They know nothing of HTTP; the manager maps codes to statuses.
 */
export type ErrorCode =
  | "invalid_input"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "too_large"
  | "unprocessable"
  | "rate_limited"
  // Too much work in flight in this process (public trigger bodies); retry after a moment.
  | "overloaded"
  // A public request's body did not arrive whole in time (a slow or stalled upload).
  | "request_timeout"
  | "not_configured"
  | "not_ready"
  | "audit_unavailable"
  | "decrypt_failed"
  // Input PostgreSQL could not store faithfully (json/storable.ts).
  | "unsupported_character"
  | "too_deep"
  | "unsupported_number"
  | "invalid_cursor";

export class SwitchyardError extends Error {
  override name = "SwitchyardError";
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: { details?: unknown; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }
}

export class NotFoundError extends SwitchyardError {
  override name = "NotFoundError";
  constructor(what: string, id: string) {
    super("not_found", `${what} ${JSON.stringify(id)} was not found`, { details: { what, id } });
  }
}

export class ConflictError extends SwitchyardError {
  override name = "ConflictError";
  constructor(message: string, details?: unknown) {
    super("conflict", message, { details });
  }
}

export class ValidationError extends SwitchyardError {
  override name = "ValidationError";
  constructor(message: string, details?: unknown) {
    super("invalid_input", message, { details });
  }
}

export class ForbiddenError extends SwitchyardError {
  override name = "ForbiddenError";
  constructor(message: string, details?: unknown) {
    super("forbidden", message, { details });
  }
}

export class TooLargeError extends SwitchyardError {
  override name = "TooLargeError";
  constructor(what: string, limit: number, size: number) {
    super("too_large", `${what} is ${size} bytes; the limit is ${limit}`, { details: { limit, size } });
  }
}

/** A paging cursor that names nothing in the list it pages (another app's row, a deleted one, a made-up id). */
export class InvalidCursorError extends SwitchyardError {
  override name = "InvalidCursorError";
  constructor(parameter: string) {
    super("invalid_cursor", `${parameter} does not name an entry of this list`, { details: { parameter } });
  }
}

/** The audit row could not be written, so the operation it would record did not happen. */
export class AuditUnavailableError extends SwitchyardError {
  override name = "AuditUnavailableError";
  constructor(cause: unknown) {
    super("audit_unavailable", "the audit log could not be written; the operation was refused", { cause });
  }
}

/** Unique-violation from either driver (SQLSTATE 23505), looked up through drizzle's wrapping. */
export function isUniqueViolation(error: unknown): boolean {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === "23505") return true;
  }
  return false;
}
