import type { Logger, ResolvedSecret, SecretsService } from "@switchyard/core";
import { EmailError, type EmailSender } from "@switchyard/email";
import { HostError, hmacWithSecretValue, SecretPlaceholder, type Host, type RunContext } from "@switchyard/executor";
import type { BoundSecrets } from "./bound/bound-secrets.ts";
import type { RunSecrets } from "./run-secrets.ts";
import type { ScriptFetch } from "./script-fetch.ts";

/**
 * The executor's Host backed by core: secrets resolve through the vault's
 * read path with the run as the audited actor; email goes through the
 * sender (SMTP, or dev capture), its failures surfacing to the script as
 * errors with a `code`, retryable when the SMTP side is the problem. What a
 * remote server said goes to the operator's log, never to the script.
 * `runs` learns each value handed out, to mask the send log as the run is.
 * `fetch` goes out through the egress client under the operator's policy,
 * narrowed by the app's EGRESS_ALLOWED_HOSTS (script-fetch.ts). A
 * host-bound secret is never handed over: the script gets its placeholder
 * (bound/bound-secrets.ts), and mail carrying one is refused.
 * `watchSecrets` announces every drop of the vault's sealed-row cache (a
 * write here, another process's NOTIFY), so executor threads may repeat a
 * run's answers until then (executor threads/thread-secrets.ts).
 */
export function createScriptHost(deps: { secrets: SecretsService; email: EmailSender; logger: Logger; runs: RunSecrets; fetch: ScriptFetch; bound: BoundSecrets }): Host {
  const actor = (ctx: RunContext) => ({ type: "run" as const, id: ctx.run.id, appId: ctx.app.id });
  return {
    async getSecret(ctx, name) {
      const hit = await deps.secrets.resolveSecret(ctx.app.id, name, actor(ctx));
      if (!hit) return null;
      const hosts = boundHostsOf(hit);
      if (hosts) return new SecretPlaceholder(deps.bound.placeholder(ctx, { name, value: hit.value, scope: hit.scope, version: hit.version, boundHosts: hosts }));
      deps.runs.read(ctx.run.id, name, hit.value);
      return hit.value;
    },
    async signWithSecret(ctx, name, data, algorithm, encoding) {
      const hit = await deps.secrets.resolveSecret(ctx.app.id, name, actor(ctx));
      if (!hit) return null;
      return hmacWithSecretValue(hit.value, data, algorithm, encoding);
    },
    async listSecrets(ctx) {
      return (await deps.secrets.listSecretNames(ctx.app.id)).map((entry) => entry.name);
    },
    async sendEmail(ctx, kind, message) {
      const runId = ctx.run.id;
      if (await deps.bound.refuseMail(ctx, message)) {
        throw new HostError("secret_host_mismatch", `email.${kind === "text" ? "send" : "sendHtml"} was refused: the message carries a host-bound secret, which only its hosts may receive`);
      }
      const origin = { appId: ctx.app.id, runId, eventId: ctx.run.event_id, attempt: ctx.run.attempt, scriptId: deps.runs.scriptOf(runId), redact: (text: string) => deps.runs.redact(runId, text) };
      try {
        const result = await deps.email.send(origin, kind, message);
        deps.logger.info({ appId: origin.appId, runId: origin.runId, messageId: result.message_id, accepted: result.accepted, rejected: result.rejected }, "email sent");
        return result;
      } catch (error) {
        if (!(error instanceof EmailError)) throw error;
        deps.logger.warn({ appId: origin.appId, runId, code: error.code, retryable: error.retryable, error: error.message, detail: error.detail }, "email not sent");
        throw new HostError(error.code, error.message, error.retryable);
      }
    },
    fetch: (ctx, request, signal) => deps.fetch.fetch(ctx, request, signal),
    watchSecrets: (listener) => deps.secrets.watchInvalidations((dropped) => listener({ appId: dropped?.scope === "app" ? dropped.scopeId : null })),
  };
}

/** The hosts a resolved secret is bound to, or null for a value scripts may hold. */
function boundHostsOf(hit: ResolvedSecret): readonly string[] | null {
  return hit.boundHosts && hit.boundHosts.length > 0 ? hit.boundHosts : null;
}
