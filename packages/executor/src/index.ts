/**
 * @switchyard/executor: compiles scripts and runs them in isolated-vm
 * sandboxes, with the SDK backed by a caller-provided `Host`.
 */
export { compileScript, MODULE_GLOBAL } from "./compile.ts";
export { createExecutor } from "./executor.ts";
export { DEFAULT_LIMITS, DEFAULT_MAX_LIMITS, effectiveLimits } from "./options.ts";
export { createRedactor, MIN_MASKED_LENGTH, secretForms } from "./redact.ts";
export { mapStack } from "./source-map.ts";
export { hmacWithSecretValue } from "./sign-secret.ts";
export { HostError, SecretPlaceholder } from "./types.ts";
export { FETCH_ERRORS } from "./run-fetch.ts";
export { ISOLATE_CRASHED } from "./outcome.ts";
export { SDK_TYPES_PATH, sdkTypes } from "./sdk-types.ts";

export type { CompileErrorCode, CompileInput, CompileResult, Diagnostic } from "./compile.ts";
export { DISPOSE_REASONS } from "./app-isolate.ts";
export type { DisposeReason } from "./app-isolate.ts";
export type { Executor, ExecutorStats } from "./executor.ts";
export type { ExecutorOptions, ThreadHostSpec } from "./options.ts";
export type { Redactor, SecretRead } from "./redact.ts";
export type {
  CompiledScript,
  Host,
  HostFetchRequest,
  HostFetchResponse,
  LogLine,
  RetryDecision,
  RunContext,
  RunError,
  RunOutcome,
  RunRequest,
  RunStatus,
  ScriptLimits,
  SecretsChange,
  SignAlgorithm,
  Subrequest,
} from "./types.ts";
