import { findUnstorable, storableText, type StorableProblem } from "../json/storable.ts";
import type { Completion, FailureDecision, RunRecord } from "./complete.ts";
import { decideFailure } from "./retry.ts";

/** The run error code of an attempt whose output PostgreSQL could not store. */
export const RESULT_NOT_STORABLE = "result_not_storable";

/**
 * A completion whose run record PostgreSQL can store. Log lines and the
 * error's strings are escaped (storableText). A result that cannot be stored
 * as it is (U+0000, a lone surrogate, nested past 100 levels) is not altered
 * into something else: the attempt becomes an error with code
 * `result_not_storable`, retried per the trigger's policy like any failure,
 * so it ends as a run row and, on exhaustion, a dead letter with that error.
 */
export function storableCompletion(completion: Completion): Completion {
  const { record, claim } = completion;
  if (!record) return completion;
  const logs = record.logs.map(storableLogLine);
  const error = storableError(record.error);
  const problem = findUnstorable(record.result);
  if (!problem) {
    if (findUnstorable(logs) || findUnstorable(error)) return unstorableRun(completion, "the run's logs or error");
    return { ...completion, record: { ...record, logs, error } };
  }
  const notStorable = resultNotStorable(`the script's result could not be stored: ${problem.message} (at ${describePath(problem)})`);
  const failure = completion.failure ?? decideFailure(notStorable.retry, claim.attempts, claim.retry);
  return { claim, failure, record: { ...record, status: "error", logs: findUnstorable(logs) ? [] : logs, result: null, error: notStorable } };
}

/**
 * The last resort when the database refused a run record for its data (a
 * cause storableCompletion did not foresee): the attempt is recorded bare, as
 * an error naming the refusal's SQLSTATE, without the logs or result that
 * could not be written, so it still leaves a run row and a last error.
 */
export function unstorableRun(completion: Completion, what: string, sqlState?: string): Completion {
  const { record, claim } = completion;
  const error = resultNotStorable(`${what} could not be stored${sqlState ? ` (PostgreSQL refused it: SQLSTATE ${sqlState})` : ""}`);
  const failure: FailureDecision | null = completion.failure ?? decideFailure(error.retry, claim.attempts, claim.retry);
  if (!record) return { ...completion, failure };
  const bare: RunRecord = {
    ...record,
    status: record.status === "ok" ? "error" : record.status,
    durationMs: int4(record.durationMs),
    cpuMs: int4(record.cpuMs),
    logs: [],
    logsTruncated: true,
    result: null,
    error,
  };
  return { ...completion, failure, record: bare };
}

// The run's integer columns; a value out of their range is one of the refusals this path exists for.
const int4 = (n: number) => (Number.isFinite(n) ? Math.min(Math.max(Math.round(n), 0), 2 ** 31 - 1) : 0);

function resultNotStorable(message: string) {
  return { name: "ResultNotStorableError", message: storableText(message), stack: null, code: RESULT_NOT_STORABLE, retry: { kind: "retry" as const } };
}

// The path is made of the result's own keys, which may hold the very characters refused.
const describePath = (problem: StorableProblem) => (problem.path === "" ? "the top level" : storableText(problem.path));

function storableLogLine(line: unknown): unknown {
  if (line === null || typeof line !== "object" || Array.isArray(line)) return line;
  return Object.fromEntries(Object.entries(line).map(([key, value]) => [key, typeof value === "string" ? storableText(value) : value]));
}

// The executor's RunError is flat (name, message, stack, code) plus its retry decision.
function storableError(error: unknown): unknown {
  return storableLogLine(error);
}
