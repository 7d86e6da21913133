import type { Logger, SecretsService } from "@switchyard/core";
import { EmailError, type EmailSender } from "@switchyard/email";
import { HostError, type Host, type RunContext } from "@switchyard/executor";

/**
 * The executor's Host backed by core: secrets resolve through the vault's
 * read path with the run as the audited actor; email goes through the
 * sender (SMTP, or dev capture), its failures surfacing to the script as
 * errors with a `code`, retryable when the SMTP side is the problem.
 */
export function createScriptHost(deps: { secrets: SecretsService; email: EmailSender; logger: Logger }): Host {
  const actor = (ctx: RunContext) => ({ type: "run" as const, id: ctx.run.id, appId: ctx.app.id });
  return {
    async getSecret(ctx, name) {
      const hit = await deps.secrets.resolveSecret(ctx.app.id, name, actor(ctx));
      return hit ? hit.value : null;
    },
    async listSecrets(ctx) {
      return (await deps.secrets.listSecretNames(ctx.app.id)).map((entry) => entry.name);
    },
    async sendEmail(ctx, kind, message) {
      const origin = { appId: ctx.app.id, runId: ctx.run.id, eventId: ctx.run.event_id, attempt: ctx.run.attempt };
      try {
        const result = await deps.email.send(origin, kind, message);
        deps.logger.info({ appId: origin.appId, runId: origin.runId, messageId: result.message_id, accepted: result.accepted, rejected: result.rejected }, "email sent");
        return result;
      } catch (error) {
        if (!(error instanceof EmailError)) throw error;
        deps.logger.warn({ appId: origin.appId, runId: origin.runId, code: error.code, retryable: error.retryable, error: error.message }, "email not sent");
        throw new HostError(error.code, error.message, error.retryable);
      }
    },
  };
}
