/** Stable codes for every refusal of an inbound request; classify by these, never by message. */
export type InboundErrorCode = "invalid_input" | "too_large" | "too_complex" | "unsupported_media_type" | "unsupported_character";

/** The HTTP status each code answers with. */
export type InboundErrorStatus = 400 | 413 | 415 | 422;

/**
 * Thrown by `parseInbound` and `parseMime` for a request they refuse. It
 * carries its status because the inbound endpoint answers providers directly
 * and each code has exactly one: `invalid_input` 400, `too_large` 413,
 * `unsupported_media_type` 415, `too_complex` 422, `unsupported_character`
 * 400 (a U+0000 or lone surrogate, which storage cannot hold; `details.path`
 * names where). Messages and `details`
 * name fields, sizes and counts, never message content.
 */
export class InboundError extends Error {
  override readonly name = "InboundError";

  constructor(
    readonly code: InboundErrorCode,
    message: string,
    readonly status: InboundErrorStatus,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function invalidInput(message: string, details?: unknown, cause?: unknown): InboundError {
  return new InboundError("invalid_input", message, 400, details, cause === undefined ? undefined : { cause });
}

export function tooLarge(size: number, maxBytes: number): InboundError {
  return new InboundError("too_large", `message of ${size} bytes is over the ${maxBytes} byte limit`, 413, { size, maxBytes });
}

export function tooComplex(message: string, details: unknown): InboundError {
  return new InboundError("too_complex", message, 422, details);
}

export function unsupportedMediaType(contentType: string, expected: readonly string[]): InboundError {
  return new InboundError("unsupported_media_type", `Content-Type ${JSON.stringify(contentType)} is not one of ${expected.join(", ")}`, 415, {
    contentType,
    expected,
  });
}

/** A message holding what storage cannot keep (U+0000, a lone surrogate) at `path`: refused for good, never retried. */
export function unsupportedCharacter(message: string, path: string): InboundError {
  return new InboundError("unsupported_character", message, 400, { path });
}
