import { recordAudit, type Db } from "@switchyard/core";
import type { BoundAuditSink } from "./bound-secrets.ts";

/**
 * Bound-secret audit rows in the audit log: `secret.used` (outcome `ok`)
 * and `secret.denied` (outcome `denied`), the run as the actor, where the
 * value went or was headed in `details.destination`. Never the value.
 */
export function auditBoundSecrets(db: Db): BoundAuditSink {
  return (ctx, entry) =>
    recordAudit(db, { type: "run", id: ctx.run.id, appId: ctx.app.id }, {
      action: entry.action,
      outcome: entry.action === "secret.used" ? "ok" : "denied",
      appId: ctx.app.id,
      scope: entry.scope,
      name: entry.name,
      version: entry.version,
      details: { destination: entry.destination, ...(entry.reason ? { reason: entry.reason } : {}) },
    });
}
