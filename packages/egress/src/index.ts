// The destination policy shared by a script's fetch and an app's SMTP server,
// and the host's HTTP client for fetch. Exports are added as they land.
export { formatIPv6, parseAddress, parseIPv4 } from "./address.ts";
export { classifyAddress, embeddedIPv4 } from "./classify.ts";
export { connectChecked } from "./connect.ts";
export { EgressError } from "./errors.ts";
export { createEgressPolicy } from "./policy.ts";
export { canonicalName, EgressRuleError, parseEgressRule, parseEgressRules } from "./rules.ts";

export type { ParsedAddress } from "./address.ts";
export type { AddressCategory, Internal } from "./classify.ts";
export type { ConnectCheckedOptions } from "./connect.ts";
export type { EgressErrorCode } from "./errors.ts";
export type { EgressDecision, EgressPolicy, EgressPolicyOptions, EgressResolver, ResolveResult } from "./policy.ts";
export type { EgressRule } from "./rules.ts";
export { isAllowedHost, isBoundHost } from "./fetch/allowed-hosts.ts";
export { decodesContentEncoding } from "./fetch/body-cap.ts";
export { createFetchClient, DEFAULT_FETCH_TIMEOUT_MS, DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_MAX_REQUEST_BODY_BYTES, DEFAULT_MAX_RESPONSE_BYTES } from "./fetch/client.ts";
export { FetchError } from "./fetch/errors.ts";
export type { FetchCallOptions, FetchClient, FetchClientOptions } from "./fetch/client.ts";
export type { FetchErrorCode } from "./fetch/errors.ts";
export type { HostFetchRequest, HostFetchResponse } from "./fetch/types.ts";
