// @switchyard/crypto: master keyring, AES-256-GCM seal/open with associated
// data, data-key wrapping, API tokens and Standard Webhooks signatures.
// Imports node:* only; reads no environment. Invariants: ../README.md.
export { encodeHeader, open, parseSealed, seal, sealedKeyId } from "./aead.ts";
export { unwrapDataKey, wrapDataKey, generateDataKey } from "./data-keys.ts";
export { CryptoError } from "./errors.ts";
export { environmentKey } from "./key-encryption.ts";
export { isValidWrappingKeyId } from "./key-id.ts";
export { generateMasterKey, Keyring } from "./keyring.ts";
export { macSha256 } from "./mac.ts";
export { parseKeyring } from "./parse-keyring.ts";
export { SecretKey } from "./secret-key.ts";
export { constantTimeEqual, generateToken, hashToken } from "./tokens.ts";
export { DOCUMENTED_EXAMPLE_KEYS } from "./weak-keys.ts";
export { generateWebhookSecret, signWebhook, verifyWebhook } from "./webhooks.ts";

export type { SealedParts } from "./aead.ts";
export type { CryptoErrorCode } from "./errors.ts";
export type { KeyEncryptionProvider } from "./key-encryption.ts";
export type { KeyringError, KeyringErrorCode, KeyringInput } from "./parse-keyring.ts";
export type { Result } from "./result.ts";
export type { VerifyWebhookOptions, WebhookHeaders, WebhookVerifyError } from "./webhooks.ts";
