/**
 * Why a destination was not reached, with a stable `code` (API.md's fetch
 * codes): `egress_denied` when the policy refuses it, `dns_failed` when its
 * name does not resolve, `connect_failed` when nothing answered. `reason` is
 * for the operator's log; what a script is told is the caller's choice.
 */
export type EgressErrorCode = "egress_denied" | "dns_failed" | "connect_failed" | "egress_timeout";

export class EgressError extends Error {
  override name = "EgressError";
  constructor(
    readonly code: EgressErrorCode,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}
