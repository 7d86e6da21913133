import { getEmail, getInboundRaw, listEmails, type EmailMessage } from "@switchyard/core";
import { z } from "zod";
import type { ManagerDeps } from "../env.ts";
import type { RouteRegistry } from "./registry.ts";

const query = z.strictObject({
  status: z.enum(["sent", "captured", "failed"]).optional(),
  run_id: z.string().optional(),
  before: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(200).optional(),
});

const emailJson = (m: EmailMessage, full: boolean) => ({
  id: m.id,
  run_id: m.runId,
  script_id: m.scriptId,
  status: m.status,
  from: m.fromAddress,
  to: m.to,
  cc: m.cc,
  bcc: m.bcc,
  subject: m.subject,
  message_id: m.messageId,
  accepted: m.accepted,
  rejected: m.rejected,
  error: m.error,
  size: m.size,
  created_at: m.createdAt,
  ...(full ? { text: m.body?.text ?? null, html: m.body?.html ?? null } : {}),
});

/** The send log (and dev capture) of an app, and the raw inbound messages events point to. */
export function emailRoutes(routes: RouteRegistry, { database }: ManagerDeps): void {
  const { db } = database;
  const tag = "email";
  const appId = (c: { req: { param(n: string): string | undefined } }) => c.req.param("appId") ?? "";
  routes.add(
    { method: "get", path: "/api/v1/admin/apps/:appId/emails", summary: "Messages scripts sent (or, in dev, captured), newest first (filters: status, run_id; paging: before, limit)", tag, scope: "runs:read", query },
    async (c, { principal, query: q }) => {
      const rows = await listEmails(db, principal, appId(c), { status: q.status, runId: q.run_id, before: q.before, limit: q.limit });
      return c.json({ emails: rows.map((m) => emailJson(m, false)) });
    },
  );
  routes.add(
    { method: "get", path: "/api/v1/admin/apps/:appId/emails/:emailId", summary: "One sent or captured message (captured ones with their bodies)", tag, scope: "runs:read" },
    async (c, { principal }) => c.json(emailJson(await getEmail(db, principal, appId(c), c.req.param("emailId") ?? ""), true)),
  );
  routes.add(
    { method: "get", path: "/api/v1/admin/apps/:appId/inbound-emails/:rawId", summary: "The raw message of an inbound email event (its email.raw_id), as received", tag, scope: "runs:read" },
    async (c, { principal }) => {
      const row = await getInboundRaw(db, principal, appId(c), c.req.param("rawId") ?? "");
      return c.body(new Uint8Array(row.raw), 200, {
        "Content-Type": row.contentType,
        "Content-Disposition": `attachment; filename="${row.id}${row.contentType === "message/rfc822" ? ".eml" : ""}"`,
        "X-Content-Type-Options": "nosniff",
      });
    },
  );
}
