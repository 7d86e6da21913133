import type { Logger, SecretsService } from "@switchyard/core";
import { HostError, type Host, type RunContext } from "@switchyard/executor";

/**
 * The executor's Host backed by core: secrets resolve through the vault's
 * read path with the run as the audited actor. Email is not wired yet: every
 * send fails with `not_configured`, and nothing else breaks.
 */
export function createScriptHost(deps: { secrets: SecretsService; logger: Logger }): Host {
  const actor = (ctx: RunContext) => ({ type: "run" as const, id: ctx.run.id, appId: ctx.app.id });
  return {
    async getSecret(ctx, name) {
      const hit = await deps.secrets.resolveSecret(ctx.app.id, name, actor(ctx));
      return hit ? hit.value : null;
    },
    async listSecrets(ctx) {
      return (await deps.secrets.listSecretNames(ctx.app.id)).map((entry) => entry.name);
    },
    async sendEmail() {
      throw new HostError("not_configured", "email is not configured on this Switchyard");
    },
  };
}
