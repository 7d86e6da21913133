import type { ConnectivityRecorder, Logger } from "@switchyard/core";
import type { EmailSender } from "@switchyard/email";
import type { Executor, Subrequest } from "@switchyard/executor";
import type { BoundSecrets } from "./bound/bound-secrets.ts";
import type { RunSecrets } from "./run-secrets.ts";
import type { ScriptFetch } from "./script-fetch.ts";
import { settleEmail } from "./script-host.ts";

export interface SettledExecutorDeps {
  /** The isolates: runs a script and answers its outcome. */
  sandbox: Executor;
  email: EmailSender;
  runs: RunSecrets;
  bound: BoundSecrets;
  fetch: Pick<ScriptFetch, "forget">;
  logger: Logger;
  /** Counts each run's fetches on /metrics; null without a metrics registry. */
  countFetches: ((subrequests: readonly Subrequest[]) => void) | null;
  /** Adds each run's fetches to the connectivity totals; null in a process that runs no scripts (role `api`). */
  connectivity: Pick<ConnectivityRecorder, "record"> | null;
}

/**
 * The executor the dispatcher runs events with: the sandbox's, with a run
 * over only when its email log rows are written too. The outbox marks an
 * event done once `run` answers; were the log rows still unwritten then, a
 * row that failed would leave mail that went out unrecorded, and a later
 * replay of the event would send it again without anyone knowing. So `run`
 * waits for them (settleEmail), and a row that cannot be written fails the
 * run retryably. Then it counts the run's fetches (metrics, connectivity:
 * memory only, written in batches by the recorder's own timer) and drops the
 * run's fetch state, whatever happened.
 */
export function createSettledExecutor(deps: SettledExecutorDeps): Executor {
  const { sandbox } = deps;
  return {
    ...sandbox,
    async run(request) {
      try {
        const outcome = await settleEmail(sandbox, deps.email, deps.runs, request, deps.logger, deps.bound);
        deps.countFetches?.(outcome.subrequests);
        deps.connectivity?.record(request.ctx.app.id, outcome.subrequests);
        return outcome;
      } finally {
        deps.fetch.forget(request.ctx.run.id);
      }
    },
  };
}
