import type { ConnectivityRecorder, Logger } from "@switchyard/core";
import type { EmailSender } from "@switchyard/email";
import type { Executor, RunOutcome, RunRequest, Subrequest } from "@switchyard/executor";
import type { BoundSecrets } from "./bound/bound-secrets.ts";
import type { RunSecrets } from "./run-secrets.ts";
import type { ScriptFetch } from "./script-fetch.ts";

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

/**
 * Runs a script, then waits for the log rows of the mail it sent. A row that
 * could not be written fails the run (retryably): counting it done would let
 * a later replay of the event send the same mail again without knowing.
 */
async function settleEmail(executor: Executor, email: EmailSender, runs: RunSecrets, request: RunRequest, logger: Logger, bound: BoundSecrets): Promise<RunOutcome> {
  runs.begin(request);
  try {
    const outcome = await executor.run(request);
    await auditPlaceholders(bound, request, outcome, logger);
    return await settled(email, request, outcome, logger);
  } finally {
    runs.end(request.ctx.run.id);
    bound.end(request.ctx.run.id);
  }
}

/**
 * Audits the bound secrets' placeholders the run's logs, result or error
 * carry. They hold no value, so the outcome stands if the audit log cannot
 * be written; the operator is told.
 */
async function auditPlaceholders(bound: BoundSecrets, request: RunRequest, outcome: RunOutcome, logger: Logger): Promise<void> {
  try {
    await bound.auditOutcome(request.ctx, outcome);
  } catch (error) {
    logger.error({ err: error, runId: request.ctx.run.id }, "a placeholder in a run's output could not be audited");
  }
}

async function settled(email: EmailSender, request: RunRequest, outcome: RunOutcome, logger: Logger): Promise<RunOutcome> {
  try {
    await email.settle(request.ctx.run.id);
    return outcome;
  } catch (error) {
    logger.error({ err: error, runId: request.ctx.run.id }, "the email send log could not be written");
    return {
      ...outcome,
      status: "error",
      result: null,
      error: { name: "HostError", message: "the email send log could not be written", stack: null, code: "log_unavailable", retry: { kind: "retry" } },
    };
  }
}
