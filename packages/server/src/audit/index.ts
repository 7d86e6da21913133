export { createAuditSealer, sealAudit } from "./sealer.ts";
export type { AuditSealer, SealPass } from "./sealer.ts";
export { verifyAuditChains } from "./verify.ts";
export type { AuditProblem, AuditProblemKind, AuditVerifyOptions, AuditVerifyReport, ChainReport, SavedHead } from "./verify.ts";
export { AUDIT_KEY_SCOPE, findAuditKey, sealingAuditKey } from "./key.ts";
