/**
 * The host side of a script's `fetch`: the egress client (the operator's
 * policy, CA file and limits) narrowed by the app's EGRESS_ALLOWED_HOSTS.
 * The app's setting is read once per run, on its first fetch (the reads
 * are audited, and a run may make dozens of fetches), and forgotten when
 * the run ends. A setting that cannot be read refuses every fetch of the
 * run (`egress_denied`): it never counts as "no restriction".
 */
import type { Logger, SecretsService } from "@switchyard/core";
import { FetchError, type FetchClient } from "@switchyard/egress";
import type { HostFetchRequest, HostFetchResponse, RunContext } from "@switchyard/executor";
import { readAppAllowedHosts, type AppAllowedHosts } from "./app-egress.ts";
import type { BoundSecrets } from "./bound/bound-secrets.ts";

export interface ScriptFetch {
  fetch(ctx: RunContext, request: HostFetchRequest, signal: AbortSignal): Promise<HostFetchResponse>;
  /** The run ended: its reading of the app's setting is dropped. */
  forget(runId: string): void;
}

export function createScriptFetch(deps: { client: FetchClient; secrets: SecretsService; logger: Logger; bound: BoundSecrets }): ScriptFetch {
  const narrowing = new Map<string, Promise<AppAllowedHosts>>();

  function allowedHostsOf(ctx: RunContext): Promise<AppAllowedHosts> {
    let pending = narrowing.get(ctx.run.id);
    if (!pending) {
      pending = readAppAllowedHosts(deps.secrets, ctx.app.id, { type: "run", id: ctx.run.id, appId: ctx.app.id });
      narrowing.set(ctx.run.id, pending);
      // An outage is not remembered: the next fetch of the run tries again.
      pending.catch(() => narrowing.delete(ctx.run.id));
    }
    return pending;
  }

  return {
    async fetch(ctx, request, signal) {
      const allowed = await allowedHostsOf(ctx);
      if (!allowed.ok) {
        deps.logger.warn({ appId: ctx.app.id, runId: ctx.run.id, error: allowed.error }, "fetch refused: the app's EGRESS_ALLOWED_HOSTS cannot be read");
        throw new FetchError("egress_denied", "fetch was refused: the app's allowed hosts cannot be read");
      }
      try {
        // Host-bound secrets go in here, for their hosts only, and come back out of the answer.
        const plan = await deps.bound.prepareFetch(ctx, request);
        return plan.unmask(await deps.client.fetch(plan.request, { signal, ...plan.options, ...(allowed.value ? { allowedHosts: allowed.value } : {}) }));
      } catch (error) {
        // The script sees a code and a fixed message; what happened (the resolved address, the TLS verdict) is the operator's.
        if (error instanceof FetchError) deps.logger.debug({ appId: ctx.app.id, runId: ctx.run.id, code: error.code, error: error.message, cause: describeCause(error.cause) }, "fetch failed");
        throw error;
      }
    },
    forget(runId) {
      narrowing.delete(runId);
    },
  };
}

function describeCause(cause: unknown): string | undefined {
  return cause instanceof Error ? `${(cause as { code?: string }).code ?? cause.name}: ${cause.message}` : undefined;
}
