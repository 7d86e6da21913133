// Inbound email: every provider's webhook body, and raw MIME, normalised to
// API.md's `email` event; plus the inbound SMTP listener.
export { DEFAULT_INBOUND_LIMITS, INBOUND_PROVIDERS } from "./types.ts";
export { InboundError, unsupportedCharacter } from "./errors.ts";
export { parseInbound } from "./parse-inbound.ts";
export { parseMime } from "./mime.ts";
export { verifyMailgunSignature } from "./mailgun-signature.ts";
export { readMailgunSignature } from "./mailgun.ts";
export * from "../smtp-listener.ts";

export type { EmailAttachment, InboundEmail, InboundInput, InboundLimits, InboundProvider, ParsedInbound } from "./types.ts";
export type { InboundErrorCode, InboundErrorStatus } from "./errors.ts";
export type { MailgunSignatureFields } from "./mailgun.ts";
