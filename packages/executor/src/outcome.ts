/**
 * Turns how a run ended (the bootstrap's envelope, a kill, or a failure on
 * the host side) into the stored `RunOutcome`: statuses, retry decisions,
 * stack traces mapped back to the author's source, and every stored string
 * masked and size-capped.
 */
import type { KillReason } from "./active-run.ts";
import type { Redactor } from "./redact.ts";
import { cutUtf8, type RawLogLine } from "./run-session.ts";
import { RUNTIME_FILENAME, SCRIPT_FILENAME, SDK_FILENAME } from "./sdk-source.ts";
import { mapStack } from "./source-map.ts";
import type { CompiledScript, LogLine, RetryDecision, RunError, RunOutcome, RunStatus, ScriptLimits } from "./types.ts";
import type { ThrownError } from "./sdk-runtime.ts";

/** How the run ended, before it is described. */
export type RunEnd = { kind: "envelope"; envelope: unknown } | { kind: "killed"; reason: KillReason } | { kind: "failed"; error: unknown };

/** The part of `RunOutcome` that depends on how the run ended. */
export interface Described {
  status: RunStatus;
  result: unknown;
  resultTruncated: boolean;
  error: RunError | null;
  /** The context must not serve another run. */
  discard: boolean;
}

/** What `describeEnd` needs besides how the run ended. */
export interface DescribeInput {
  end: RunEnd;
  script: CompiledScript;
  limits: ScriptLimits;
  redactor: Redactor;
  firstLineColumnOffset: number;
  resultMaxBytes: number;
}

const MESSAGE_MAX_BYTES = 8 * 1024;
const STACK_MAX_BYTES = 16 * 1024;
const RETRY: RetryDecision = { kind: "retry" };
const NO_RETRY: RetryDecision = { kind: "no_retry" };

/** The code of a run during which V8 gave up on the isolate: the dispatcher quarantines the script version. */
export const ISOLATE_CRASHED = "isolate_crashed";

/** Describes a run's end; see `RunEnd`. */
export function describeEnd(input: DescribeInput): Described {
  const { end } = input;
  if (end.kind === "killed") return killed(end.reason, input.limits);
  if (end.kind === "failed") return failed(end.error, input.redactor);
  return fromEnvelope(end.envelope, input);
}

/** Masks log lines, then keeps at most `maxBytes` of their text. */
export function finishLogs(raw: readonly RawLogLine[], redactor: Redactor, maxBytes: number, alreadyTruncated: boolean): { logs: LogLine[]; truncated: boolean } {
  const logs: LogLine[] = [];
  let used = 0;
  let truncated = alreadyTruncated;
  for (const line of raw) {
    // A line cut short may end in the first characters of a secret: masking
    // cannot recognise a partial value, so those characters go.
    let message = redactor.text(line.message);
    if (line.cut) message = redactor.trimPartial(message);
    const bytes = Buffer.byteLength(message, "utf8");
    // Masks can be longer than what they hide, so the budget is applied again.
    if (used + bytes > maxBytes) {
      logs.push({ level: line.level, message: cutUtf8(message, maxBytes - used), at: line.at });
      truncated = true;
      break;
    }
    used += bytes;
    logs.push({ level: line.level, message, at: line.at });
  }
  return { logs, truncated };
}

/** The outcome of a run that never reached its script. */
export function emptyOutcome(status: RunOutcome["status"], error: RunError | null): RunOutcome {
  return { status, result: null, resultTruncated: false, error, logs: [], logsTruncated: false, startedAt: new Date(), durationMs: 0, cpuMs: 0, secretsRead: [], subrequests: [] };
}

/** The outcome of a run ended for `reason` before it reached its script. */
export function endedBeforeStart(reason: KillReason, limits: ScriptLimits): RunOutcome {
  const { status, error } = killed(reason, limits);
  return emptyOutcome(status, error);
}

function killed(reason: KillReason, limits: ScriptLimits): Described {
  const base = { result: null, resultTruncated: false, discard: true };
  switch (reason) {
    case "cpu":
      return { ...base, status: "timeout", error: runError("TimeoutError", `the run used more than its ${limits.cpuMs} ms of CPU time`, "cpu_limit", RETRY) };
    case "wall":
      return { ...base, status: "timeout", error: runError("TimeoutError", `the run took longer than its ${limits.wallMs} ms wall-clock limit`, "wall_limit", RETRY) };
    case "memory":
      return { ...base, status: "oom", error: runError("MemoryLimitError", `the run exceeded the ${limits.memoryMb} MB memory limit`, "memory_limit", RETRY) };
    case "collateral":
      return {
        ...base,
        status: "error",
        error: runError("IsolateDisposedError", "the run was stopped because another run of this app exceeded a limit in the same isolate", "isolate_disposed", RETRY),
      };
    case "crashed":
      return {
        ...base,
        status: "error",
        // Not retried: the same script on the same input would most likely
        // stop the next worker too, and the version is quarantined.
        error: runError("IsolateCrashedError", "the engine gave up on this app's isolate during the run (a fatal error inside V8); its executor thread was replaced", ISOLATE_CRASHED, NO_RETRY),
      };
    case "shutdown":
      return { ...base, status: "error", error: runError("ShutdownError", "the executor shut down during the run", "executor_closed", RETRY) };
  }
}

// A failure on the host side: the script did not compile in the isolate, or
// isolated-vm refused a call. Its stack names host files, so none is kept.
function failed(error: unknown, redactor: Redactor): Described {
  const name = error instanceof Error ? error.name : "Error";
  const message = error instanceof Error ? error.message : String(error);
  // A script that does not compile will not compile next time either.
  const retry = name === "SyntaxError" ? NO_RETRY : RETRY;
  return {
    status: "error",
    result: null,
    resultTruncated: false,
    error: runError(redactor.text(name), capped(redactor.text(message), MESSAGE_MAX_BYTES, redactor), null, retry, null),
    discard: true,
  };
}

// The bootstrap's answer (see `Envelope` in sdk-runtime.ts). Checked, not
// trusted: a script can tamper with its own context's builtins.
function fromEnvelope(envelope: unknown, input: DescribeInput): Described {
  if (typeof envelope === "string") {
    const tag = envelope[0];
    if (tag === "o") return okResult(envelope.slice(1), false, input);
    if (tag === "n") return okResult(null, false, input);
    if (tag === "t") return okResult(null, true, input);
    const thrown = tag === "e" ? parseThrown(envelope.slice(1)) : null;
    if (thrown) return { status: "error", result: null, resultTruncated: false, error: thrownError(thrown, input), discard: thrown.discard };
  }
  return {
    status: "error",
    result: null,
    resultTruncated: false,
    error: runError("SandboxError", "the sandbox answered in an unexpected shape", "sandbox_error", RETRY),
    discard: true,
  };
}

function okResult(json: string | null, truncatedInside: boolean, input: DescribeInput): Described {
  const ok = { status: "ok" as const, error: null, discard: false };
  if (truncatedInside || json === null) return { ...ok, result: null, resultTruncated: truncatedInside };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { ...ok, result: null, resultTruncated: true };
  }
  const { redactor, resultMaxBytes } = input;
  if (redactor.empty) {
    return Buffer.byteLength(json, "utf8") > resultMaxBytes ? { ...ok, result: null, resultTruncated: true } : { ...ok, result: value, resultTruncated: false };
  }
  const masked = redactor.value(value);
  // Measured after masking: that is what gets stored.
  if (Buffer.byteLength(JSON.stringify(masked), "utf8") > resultMaxBytes) return { ...ok, result: null, resultTruncated: true };
  return { ...ok, result: masked, resultTruncated: false };
}

// The in-isolate side writes it; only the type is shared (erased from the bundle).
type Thrown = ThrownError;

function parseThrown(json: string): Thrown | null {
  try {
    const t = JSON.parse(json) as Partial<Thrown> | null;
    if (!t || typeof t.name !== "string" || typeof t.message !== "string") return null;
    return {
      name: t.name,
      message: t.message,
      stack: typeof t.stack === "string" ? t.stack : null,
      kind: t.kind === "no_retry" || t.kind === "retry_after" || t.kind === "host" ? t.kind : "error",
      delayMs: typeof t.delayMs === "number" && Number.isFinite(t.delayMs) && t.delayMs >= 0 ? Math.round(t.delayMs) : null,
      code: typeof t.code === "string" ? t.code : null,
      retryable: t.retryable === true,
      discard: t.discard === true,
    };
  } catch {
    return null;
  }
}

function thrownError(t: Thrown, input: DescribeInput): RunError {
  const { redactor } = input;
  let retry: RetryDecision = RETRY;
  if (t.kind === "no_retry") retry = NO_RETRY;
  else if (t.kind === "retry_after") retry = { kind: "retry_after", delayMs: t.delayMs ?? 0 };
  else if (t.kind === "host") retry = t.retryable ? RETRY : NO_RETRY;
  let stack: string | null = null;
  if (t.stack !== null) {
    stack = withoutBootstrapFrames(t.stack, input.firstLineColumnOffset);
    if (input.script.sourceMap) {
      stack = mapStack(stack, input.script.sourceMap, { filename: SCRIPT_FILENAME, firstLineColumnOffset: input.firstLineColumnOffset });
    }
    stack = capped(redactor.text(stack), STACK_MAX_BYTES, redactor);
  }
  return {
    name: capped(redactor.text(t.name), 256, redactor),
    message: capped(redactor.text(t.message), MESSAGE_MAX_BYTES, redactor),
    stack,
    code: t.kind === "host" ? t.code : null,
    retry,
  };
}

// Frames of the SDK bootstrap (sdk.js) and of the web runtime (runtime.js:
// inside fetch, a timer, ...), eval'd code called from them included, and
// any left of the author's first column on line 1 of script.js (the
// wrapper's head): none is the author's code. They say nothing to the
// author and would only show how the sandbox is built. Only frame lines
// ("    at ...") match: a line of the message that names the file stays.
const OUR_FRAME = new RegExp(`^\\s*at\\s(.*[\\s(])?(${[SDK_FILENAME, RUNTIME_FILENAME].map((f) => f.replace(".", "\\.")).join("|")}):\\d+:\\d+`);

function withoutBootstrapFrames(stack: string, firstLineColumnOffset: number): string {
  const frame = new RegExp(`${SCRIPT_FILENAME.replace(".", "\\.")}:1:(\\d+)\\)?$`);
  return stack
    .split("\n")
    .filter((line, i) => {
      if (i === 0) return true;
      if (OUR_FRAME.test(line)) return false;
      const found = frame.exec(line);
      return !found || Number(found[1]) > firstLineColumnOffset;
    })
    .join("\n");
}

function capped(text: string, maxBytes: number, redactor: Redactor): string {
  if (Buffer.byteLength(text, "utf8") <= maxBytes) return text;
  return `${redactor.trimPartial(cutUtf8(text, maxBytes))}…`;
}

function runError(name: string, message: string, code: string | null, retry: RetryDecision, stack: string | null = null): RunError {
  return { name, message, stack, code, retry };
}
