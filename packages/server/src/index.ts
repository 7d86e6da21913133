export { main } from "./cli.ts";
export { parseConfig } from "./config.ts";
export type { Config } from "./config.ts";
export { startServer } from "./commands/serve.ts";
export type { RunningServer, Role } from "./commands/serve.ts";
export { StartupError } from "./startup-error.ts";
export { createServices, DEFAULT_SERVICE_SETTINGS } from "./services.ts";
export { createAuditSealer, sealAudit, verifyAuditChains, sealingAuditKey, findAuditKey, AUDIT_KEY_SCOPE, CHAIN_STARTED, UNSEALED_GRACE_MS } from "./audit/index.ts";
export type { AuditSealer, SealerMemo, SealPass, AuditProblem, AuditProblemKind, AuditVerifyOptions, AuditVerifyReport, ChainReport, SavedHead } from "./audit/index.ts";
export type { Services, ServiceSettings } from "./services.ts";
export {
  BACKUP_TABLES,
  SKIPPED_TABLES,
  BackupError,
  createBackup,
  verifyBackup,
  openBackup,
  restoreBackup,
  tableDigests,
  nonEmptyTables,
  generateBackupIdentity,
  openEncrypted,
  writeEncrypted,
} from "./backup/index.ts";
export type { BackupErrorCode, BackupHeader, BackupManifest, OpeningKeys, SealingKeys } from "./backup/index.ts";
