export {
  SwitchyardError,
  NotFoundError,
  ConflictError,
  ValidationError,
  ForbiddenError,
  TooLargeError,
  AuditUnavailableError,
  InvalidCursorError,
  isUniqueViolation,
} from "./errors.ts";
export type { ErrorCode } from "./errors.ts";
export { newId } from "./ids.ts";
export {
  MAX_JSON_DEPTH,
  findUnstorable,
  findUnstorableText,
  storableText,
  assertStorable,
  assertStorableText,
  UnstorableInputError,
} from "./json/storable.ts";
export type { StorableProblem, StorableProblemCode } from "./json/storable.ts";
export {
  TOKEN_SCOPES,
  hasScope,
  requireScope,
  requireUnlimited,
  canSeeWorkspace,
} from "./principal.ts";
export type { Principal, TokenScope } from "./principal.ts";
export { recordAudit, listAudit } from "./audit.ts";
export type { AuditEntry, AuditQuery, AuditRow } from "./audit.ts";
export {
  DEFAULT_WORKSPACE_ID,
  createWorkspace,
  listWorkspaces,
  getWorkspace,
  createApp,
  listApps,
  getApp,
  deleteApp,
  getAppById,
} from "./tenancy.ts";
export type { Workspace, App } from "./tenancy.ts";
export { concurrencyCapsSet, setAppConcurrency, setWorkspaceConcurrency } from "./concurrency-settings.ts";
export { liftEngineBlock } from "./engine-block.ts";
export { createToken, revokeToken, authenticateToken, ensureBootstrapToken } from "./tokens.ts";
export type { CreatedToken, TokenInput } from "./tokens.ts";
export { createDataKeyStore, rotateDataKeys, dataKeyAad } from "./data-keys.ts";
export type { DataKeyStore, RotationProgress, RotationReport, ScopeRef, SecretScope } from "./data-keys.ts";
export { silentLogger } from "./logger.ts";
export type { Logger } from "./logger.ts";
export { checkReadiness } from "./readiness.ts";
export type { Readiness } from "./readiness.ts";
export type { Database, Db } from "@switchyard/db";
export { createSecretsService } from "./secrets/service.ts";
export type { SecretsService, SecretListing, SecretMetadata, SetOptions, ImportReport, ImportStatus } from "./secrets/service.ts";
export { bindingLoosens, canonicalBinding, MAX_BOUND_HOSTS } from "./secrets/binding.ts";
export type { BindingIssue } from "./secrets/binding.ts";
export type { ResolvedSecret } from "./secrets/read-path.ts";
export type { TargetRef } from "./secrets/target.ts";
export { parseDotenv } from "./secrets/dotenv.ts";
export { SECRETS_CHANNEL } from "./secrets/vault.ts";
export { BOUND_PREVIEW, maskedPreview, SECRET_NAME } from "./secrets/values.ts";
export { createScriptsService, getScriptById } from "./scripts/service.ts";
export type { ScriptsService, Script, DeployInput } from "./scripts/service.ts";
export type { Compile, CompileOutcome, Diagnostic, LimitPolicy, ScriptLanguage, StoredLimits } from "./scripts/types.ts";
export { listRuns, getRun } from "./scripts/runs.ts";
export type { Run, RunStatus, RunFinish, RunQuery } from "./scripts/runs.ts";
export { createManualInvoker } from "./scripts/invoker.ts";
export type { Invoker } from "./scripts/invoker.ts";
export { enqueue, claim, claimRound, renewLeases, releaseClaims, OUTBOX_CHANNEL, type ResumedTurn, type ClaimRound } from "./outbox/queue.ts";
export type { Claim, ClaimContext, ClaimedEvent, EnqueueInput, OutboxRow } from "./outbox/queue.ts";
export { outboxDepth, oldestDueSeconds } from "./outbox/figures.ts";
export { complete, completeMany } from "./outbox/complete.ts";
export { DEFAULT_ENGINE_CRASH_LIMIT, ENGINE_CRASH_WINDOW, quarantineMessage, workspaceBlockedMessage } from "./outbox/quarantine.ts";
export { storableCompletion, unstorableRun, RESULT_NOT_STORABLE } from "./outbox/storable-record.ts";
export type { Completion, CompletionResult, FailureDecision, RunRecord } from "./outbox/complete.ts";
export { DEFAULT_RETRY, MAX_DELAY_MS, retryDelayMs, decideFailure } from "./outbox/retry.ts";
export type { ScriptRetry } from "./outbox/retry.ts";
export { listDeadLetters, getDeadLetter, replayDeadLetter, replayDeadLetters, deleteDeadLetter, DEAD_LETTER_PAGE_MAX, DEAD_LETTER_REPLAY_MAX } from "./outbox/dead-letters.ts";
export type { DeadLetter, DeadLetterFilter, DeadLetterQuery, ReplayReport } from "./outbox/dead-letters.ts";
export { createTriggersService, getTriggerById, publicTriggerIds, TRIGGERS_CHANNEL } from "./triggers/service.ts";
export type { Trigger, TriggerInput, TriggerSealer, TriggersService, TriggerWithSecret } from "./triggers/service.ts";
export { typedTrigger, signingOf } from "./triggers/typed.ts";
export { acceptHook } from "./triggers/hook-store.ts";
export type { HookAccept, HookOutcome } from "./triggers/hook-store.ts";
export type { TypedTrigger } from "./triggers/typed.ts";
export { planSecretChange, triggerSecretAad, ROTATION_GRACE_MS } from "./triggers/signing.ts";
export type { SecretPlan, TriggerSecret, TriggerSigning } from "./triggers/signing.ts";
export { UnauthorizedError, RetryLaterError } from "./triggers/errors.ts";
export { EMAIL_PROVIDERS } from "./triggers/email-config.ts";
export type { EmailConfig, EmailProvider, EmailSigning } from "./triggers/email-config.ts";
export { TRIGGER_KINDS, parseTriggerConfig, parseEmailConfig, parseHttpConfig, parseRetry, retrySchema } from "./triggers/config.ts";
export type { TriggerKind, HttpConfig, CronConfig, DeadLetterConfig, ParsedTriggerConfig } from "./triggers/config.ts";
export { fireDueCronTicks } from "./triggers/cron.ts";
export { MAX_TRIGGER_DEPTH } from "./triggers/fan-out.ts";
export { acceptInbound, getInboundRaw, pruneInboundSeen, INBOUND_SEEN_DAYS } from "./email/inbound-store.ts";
export type { InboundAccept, InboundOutcome } from "./email/inbound-store.ts";
export { createSendLog, listEmails, getEmail } from "./email/send-log.ts";
export type { EmailMessage, EmailQuery, RecordedSend } from "./email/send-log.ts";
export { readAppEmailSettings, readAppEgressAllowedHosts, intersectAllowlists, EGRESS_ALLOWED_HOSTS, EMAIL_SETTING_SECRETS, NO_EMAIL_LIMITS, SettingError } from "./email/app-settings.ts";
export type { AppEmailSettingsValues, EmailLimits } from "./email/app-settings.ts";
export { createConnectivityRecorder } from "./connectivity/recorder.ts";
export type { ConnectivityRecorder, ConnectivityRecorderOptions } from "./connectivity/recorder.ts";
export { createConnectivityService } from "./connectivity/service.ts";
export type { AppConnectivity, ConnectivityCounts, ConnectivityHealth, ConnectivityService, HostConnectivity } from "./connectivity/service.ts";
export { evaluateHosts } from "./connectivity/evaluate.ts";
export type { HostRef } from "./connectivity/evaluate.ts";
export { CONNECTIVITY_STATUSES, DEFAULT_STATUS_RULES, bucketMsFor, decideStatus } from "./connectivity/rules.ts";
export type { ConnectivityStatus, StatusRules } from "./connectivity/rules.ts";
export type { ConnectivityChange, ConnectivityEvent } from "./connectivity/events.ts";
export type { FetchOutcome } from "./connectivity/attempts.ts";
export { createRunFeed } from "./runs-stream/feed.ts";
export type { RunFeed, RunFeedOptions, RunSubscription } from "./runs-stream/feed.ts";
export { cursorAfterRun } from "./runs-stream/finished-runs.ts";
export type { RunCursor } from "./runs-stream/finished-runs.ts";
export { createStatsService } from "./stats/service.ts";
export type { Stats, StatsService } from "./stats/service.ts";
export { STATS_WINDOWS, bucketsFor } from "./stats/windows.ts";
export type { StatsWindow } from "./stats/windows.ts";
export { createQueueSampler } from "./stats/queue-sampler.ts";
export type { QueueSampler, QueueSamplerOptions } from "./stats/queue-sampler.ts";
export { createInboundTally } from "./stats/inbound-tally.ts";
export type { InboundChannel, InboundTally, InboundTallyOptions } from "./stats/inbound-tally.ts";
export { publishSecretChanges } from "./secret-events/publish.ts";
export { SECRET_CHANGED_EVENT } from "./secret-events/events.ts";
export type { SecretChange, SecretChangeAction, SecretChangeActor, SecretChangedEvent, SecretChangedFields } from "./secret-events/events.ts";
export { NAME_PATTERN, nameMatches } from "./secret-events/name-pattern.ts";
export { createWebhooksService, WEBHOOK_EVENTS, WEBHOOK_RETRY, webhookSecretAad } from "./webhooks/service.ts";
export type { DeliveryQuery, OperatorWebhook, WebhookDelivery, WebhookInput, WebhookSealer, WebhooksService } from "./webhooks/service.ts";
export { createWebhookDeliverer } from "./webhooks/deliverer.ts";
export type { WebhookDeliverer, WebhookDelivererOptions, WebhookRequest, WebhookSend } from "./webhooks/deliverer.ts";
export { WEBHOOKS_CHANNEL } from "./webhooks/enqueue.ts";
export type { SecretChangedPayload } from "./webhooks/enqueue.ts";
export { checkWebhookUrl } from "./webhooks/url.ts";
export type { AttemptOutcome, DeliveryResult } from "./webhooks/deliveries.ts";
