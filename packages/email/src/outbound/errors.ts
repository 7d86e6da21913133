/**
 * Why a send failed, with a stable `code` scripts can branch on (API.md:
 * `not_configured`, `invalid_address`, `too_large`, ...) and whether trying
 * the run again later could help.
 */
export type EmailErrorCode =
  | "not_configured"
  | "invalid_input"
  | "invalid_address"
  | "too_large"
  | "sender_not_allowed"
  | "recipient_not_allowed"
  | "rate_limited"
  | "rejected"
  | "smtp_unavailable"
  | "smtp_auth_failed"
  | "smtp_host_not_allowed"
  | "smtp_tls_unavailable";

export class EmailError extends Error {
  override name = "EmailError";
  /**
   * What the remote side said, for the operator's log only: an SMTP
   * server's reply is text chosen by whoever runs it (or by whatever else
   * answers on that port), so it never reaches the script, the run or the
   * send log.
   */
  readonly detail: string | null;
  constructor(
    readonly code: EmailErrorCode,
    message: string,
    readonly retryable = false,
    options: { detail?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.detail = options.detail ?? null;
  }
}
