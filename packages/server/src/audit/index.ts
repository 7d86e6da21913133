export { createAuditSealer, sealAudit, UNSEALED_GRACE_MS } from "./sealer.ts";
export type { AuditSealer, SealerMemo, SealPass } from "./sealer.ts";
export { verifyAuditChains } from "./verify.ts";
export type { AuditProblem, AuditProblemKind, AuditVerifyOptions, AuditVerifyReport, ChainReport, SavedHead } from "./verify.ts";
export { AUDIT_KEY_SCOPE, findAuditKey, sealingAuditKey } from "./key.ts";
export { CHAIN_STARTED } from "./attest.ts";
