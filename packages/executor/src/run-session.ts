/**
 * The host side of one run: it answers the SDK calls the run's context
 * makes, and collects what the run leaves behind (log lines, the secrets it
 * read) until the outcome is built.
 */
import type { SecretRead } from "./redact.ts";
import { RunFetches } from "./run-fetch.ts";
import { RunSubtle } from "./run-subtle.ts";
import { RunTimers } from "./run-timers.ts";
import { HostError, SecretPlaceholder, type Host, type LogLine, type RunContext, type SignAlgorithm } from "./types.ts";

/**
 * The answer to an SDK call as the bootstrap expects it: `"o" + json`, or
 * `"e" + JSON of [code, message, retryable]`. One string, because a string
 * crosses without a structured copy. Never a rejection: isolated-vm would
 * copy only an error's message across, and the script needs the code.
 */
export type HostReply = string;

const ok = (json: string): HostReply => `o${json}`;

/** An SDK error reply. */
export const errReply = (code: string, message: string, retryable: boolean): HostReply => `e${JSON.stringify([code, message, retryable])}`;

/** A log line before masking; `cut` when its end was dropped (a secret may be split there). */
export interface RawLogLine {
  level: LogLine["level"];
  message: string;
  at: number;
  cut: boolean;
}

// Far above any real secret name; keeps a script from handing the host megabytes as a name.
const MAX_SECRET_NAME = 256;

const LEVELS = new Set<string>(["debug", "info", "log", "warn", "error"]);

const SIGN_ALGORITHMS = new Set<string>(["HMAC-SHA256", "HMAC-SHA512"]);
// What one secrets.sign may sign (a webhook body, a request to sign).
const MAX_SIGNED_BYTES = 8 * 1024 * 1024;
// What one run may sign in all: hashing happens on the host's thread, outside
// the script's CPU limit, so a loop of large signs must stop somewhere.
const MAX_SIGNED_BYTES_PER_RUN = 64 * 1024 * 1024;

const FINISHED = errReply("run_finished", "the run this call belongs to has already finished", false);

/** What a run session is made with. */
export interface RunSessionOptions {
  host: Host;
  ctx: RunContext;
  /** `performance.now()` when the run started. */
  startedAt: number;
  logMaxBytes: number;
  onHostFailure: (error: unknown, info: { op: string; ctx: RunContext }) => void;
  /** Told of every distinct secret value handed into the context (which outlives the run), with a key naming it. */
  onSecretDelivered: (key: string, secret: SecretRead) => void;
  /** `performance.now()` at which the run's wall clock runs out. */
  deadline: number;
  maxSubrequests: number;
  fetchTimeoutMs: number;
}

/** The host side of one run; see the file comment. */
export class RunSession {
  readonly logs: RawLogLine[] = [];
  logsTruncated = false;
  /** Names read, in first-read order. */
  readonly secretsRead = new Set<string>();
  /** Every (name, value) read: a secret rotated mid-run is masked in both versions. */
  readonly secretValues: SecretRead[] = [];
  /** Host calls started and not yet answered. */
  pending = 0;
  private readonly seenValues = new Set<string>();
  private logBytes = 0;
  private signedBytes = 0;
  private finished = false;
  /** Answers of calls still under way: finish() answers them `run_finished`. */
  private readonly unanswered = new Set<(reply: HostReply) => void>();

  /** The run's timers (see run-timers.ts); they are not `pending`: the run's end clears them. */
  readonly timers = new RunTimers((code, message) => errReply(code, message, false), FINISHED);
  readonly fetches: RunFetches;
  /** The run's crypto.subtle calls, a few at a time (run-subtle.ts). */
  readonly subtle: RunSubtle;

  constructor(private readonly options: RunSessionOptions) {
    this.fetches = new RunFetches(options);
    this.subtle = new RunSubtle(options.ctx.app.id);
  }

  /** Marks the run over: later calls are refused and pending ones answered `run_finished`. */
  finish(): void {
    this.finished = true;
    this.timers.finish();
    this.fetches.finish();
    this.subtle.finish();
    for (const answer of this.unanswered) answer(FINISHED);
    this.unanswered.clear();
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /** A line from the script's `console`. Text past the byte budget is dropped, the line that crosses it cut. */
  log(level: unknown, message: unknown, cutInside: unknown): void {
    if (this.finished || this.logsTruncated) return;
    if (typeof level !== "string" || !LEVELS.has(level) || typeof message !== "string") return;
    const at = Math.round((performance.now() - this.options.startedAt) * 1000) / 1000;
    const room = this.options.logMaxBytes - this.logBytes;
    const bytes = Buffer.byteLength(message, "utf8");
    let text = message;
    let cut = cutInside === true;
    if (bytes > room) {
      text = cutUtf8(message, room);
      cut = true;
    }
    if (cut) this.logsTruncated = true;
    this.logBytes += Math.min(bytes, room);
    this.logs.push({ level: level as LogLine["level"], message: text, at, cut });
  }

  /** A fire-and-forget cancel from the runtime: a cleared timer, an aborted fetch. */
  cancel(op: unknown, arg: unknown): void {
    if (op === "timer.clear") this.timers.clear(arg);
    else if (op === "fetch.abort") this.fetches.abort(arg);
  }

  /** Answers one SDK call; settles `run_finished` at the latest when the run ends. */
  call(op: unknown, arg: unknown): Promise<HostReply> {
    if (this.finished) return Promise.resolve(FINISHED);
    // A timer waits for time, not for the host: the run's end clears it, so
    // it does not keep the context from serving the next run.
    if (op === "timer") return this.timers.start(arg);
    this.pending++;
    // One promise per call, answered by the host's reply or by finish(),
    // whichever comes first (`pending` counts the host's work until it ends).
    return new Promise((resolve) => {
      this.unanswered.add(resolve);
      const reply = (answer: HostReply) => {
        this.pending--;
        if (this.unanswered.delete(resolve)) resolve(answer);
      };
      this.perform(String(op), arg).then(reply, () => reply(internalError(String(op))));
    });
  }

  /** `secrets.sign`: the bootstrap sends `{name, data, data_encoding, algorithm, encoding}` as JSON. */
  private async sign(arg: unknown): Promise<HostReply> {
    const { host, ctx } = this.options;
    let given: Record<string, unknown>;
    try {
      given = typeof arg === "string" ? (JSON.parse(arg) as Record<string, unknown>) : {};
    } catch {
      given = {};
    }
    const { name, data, data_encoding: dataEncoding, algorithm, encoding } = given;
    if (typeof name !== "string" || name.length === 0 || name.length > MAX_SECRET_NAME) {
      return errReply("invalid_argument", `secret name must be a string of 1 to ${MAX_SECRET_NAME} characters`, false);
    }
    if (typeof data !== "string" || (dataEncoding !== "utf8" && dataEncoding !== "latin1")) return errReply("invalid_argument", "secrets.sign(name, data): data must be a string or bytes", false);
    if (!SIGN_ALGORITHMS.has(algorithm as string)) return errReply("invalid_argument", 'secrets.sign: algorithm must be "HMAC-SHA256" or "HMAC-SHA512"', false);
    if (encoding !== "hex" && encoding !== "base64") return errReply("invalid_argument", 'secrets.sign: encoding must be "hex" or "base64"', false);
    const bytes = Buffer.from(data, dataEncoding);
    if (bytes.length > MAX_SIGNED_BYTES) return errReply("too_large", `secrets.sign: data must be at most ${MAX_SIGNED_BYTES} bytes`, false);
    if (this.signedBytes + bytes.length > MAX_SIGNED_BYTES_PER_RUN) return errReply("too_large", `secrets.sign: a run may sign at most ${MAX_SIGNED_BYTES_PER_RUN} bytes in all`, false);
    this.signedBytes += bytes.length;
    if (!host.signWithSecret) return errReply("not_configured", "secrets.sign is not available on this host", false);
    const signature = await host.signWithSecret(ctx, name, bytes, algorithm as SignAlgorithm, encoding);
    if (signature === null) return errReply("not_found", `secret ${JSON.stringify(name)} is not set`, false);
    if (!this.finished) this.secretsRead.add(name);
    return ok(JSON.stringify(signature));
  }

  private async perform(op: string, arg: unknown): Promise<HostReply> {
    const { host, ctx } = this.options;
    try {
      switch (op) {
        case "secrets.get": {
          if (typeof arg !== "string" || arg.length === 0 || arg.length > MAX_SECRET_NAME) {
            return errReply("invalid_argument", `secret name must be a string of 1 to ${MAX_SECRET_NAME} characters`, false);
          }
          const answer = (await host.getSecret(ctx, arg)) ?? null;
          if (answer instanceof SecretPlaceholder) {
            // Not a value: nothing to mask, and nothing of the secret enters.
            if (!this.finished) this.secretsRead.add(arg);
            return ok(JSON.stringify(answer.text));
          }
          const value = answer;
          const json = toJson(value);
          if (value !== null && !this.finished) this.secretsRead.add(arg);
          // Each distinct value once: a script reading one secret in a loop
          // must not grow the masking work with every read.
          const key = `${arg}\u0000${json}`;
          if (value !== null && !this.finished && !this.seenValues.has(key)) {
            const read = { name: arg, value };
            this.seenValues.add(key);
            this.secretValues.push(read);
            this.options.onSecretDelivered(key, read);
          }
          return ok(json);
        }
        case "secrets.list":
          return ok(toJson(await host.listSecrets(ctx)));
        case "secrets.sign":
          return await this.sign(arg);
        case "email.send":
        case "email.sendHtml": {
          if (typeof arg !== "string") return errReply("invalid_argument", "message must be an object", false);
          let message: unknown;
          try {
            message = JSON.parse(arg);
          } catch {
            return errReply("invalid_argument", "message must be JSON", false);
          }
          return ok(toJson((await host.sendEmail(ctx, op === "email.send" ? "text" : "html", message)) ?? null));
        }
        case "subtle": {
          const answer = await this.subtle.perform(arg);
          return answer.ok ? ok(answer.json) : errReply(answer.name, answer.message, false);
        }
        case "fetch":
          return await this.fetches.start(arg);
        default:
          return errReply("unknown_call", `no SDK call named ${JSON.stringify(op)}`, false);
      }
    } catch (error) {
      if (isHostError(error)) return errReply(error.code, error.message, error.retryable === true);
      // Not the script's business what broke inside the host; the operator's.
      this.options.onHostFailure(error, { op, ctx });
      return internalError(op);
    }
  }
}

// By shape as well as class: a Host built against another copy of this
// package (a bundled server, a test's module graph) throws its own HostError.
function isHostError(error: unknown): error is HostError {
  if (error instanceof HostError) return true;
  return error instanceof Error && error.name === "HostError" && typeof (error as { code?: unknown }).code === "string";
}

/** What the script sees when the host failed in a way that is not its business. */
const internalError = (op: string): HostReply => errReply("internal_error", `${op} failed inside the platform; the run may be retried`, true);

function toJson(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError("the host answered with a value that is not JSON");
  return json;
}

/** The longest prefix of `text` that fits in `maxBytes` of UTF-8, never splitting a character. */
export function cutUtf8(text: string, maxBytes: number): string {
  if (maxBytes <= 0) return "";
  const cut = Buffer.from(text, "utf8").subarray(0, maxBytes).toString("utf8");
  // A character split by the cut decodes as U+FFFD; drop it.
  return cut.endsWith("\uFFFD") && !text.startsWith(cut) ? cut.slice(0, -1) : cut;
}
