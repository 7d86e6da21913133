/**
 * Host-bound secrets on the host's side of a run (API.md "host-bound
 * secret"; Fly.io's tokenizer is the model). The sandbox never holds such
 * a value: `secrets.get` answers a placeholder made for this run and this
 * secret, and only a fetch whose every hop goes to one of the secret's
 * hosts gets the value in the placeholder's place. A placeholder in a
 * request to any other destination, in mail, or in the run's logs, result
 * or error is refused or kept as it is, and audited as `secret.denied`;
 * each use is audited once per run, secret and destination host as
 * `secret.used`. Placeholders die with their run.
 */
import { randomBytes } from "node:crypto";
import type { RunContext, HostFetchRequest, HostFetchResponse, RunOutcome } from "@switchyard/executor";
import { decodesContentEncoding, FetchError, parseEgressRules, isBoundHost, type EgressRule, type FetchCallOptions } from "@switchyard/egress";
import { compileEchoes, echoForms, maskResponse, placeholderInHeaderNames, placeholderInHost, placeholdersIn, substitute, PLACEHOLDER_PREFIX, type EchoForm, type Lookup } from "./substitute.ts";

/** A bound secret as the read path answers it. */
export interface BoundRead {
  name: string;
  value: unknown;
  scope: string;
  version: number;
  boundHosts: readonly string[];
}

/** One audit row about a bound secret: `used` (sent to its host) or `denied` (refused, with where it was headed). */
export interface BoundAudit {
  action: "secret.used" | "secret.denied";
  name: string;
  scope: string;
  version: number;
  /** The destination host (`host[:port]`), or `email`, `log`, `result`, `error`. */
  destination: string;
  reason?: string;
}

/** Writes audit rows; a failure to write fails what is being audited (fail closed). */
export type BoundAuditSink = (ctx: RunContext, entry: BoundAudit) => Promise<void>;

interface Bound {
  read: BoundRead;
  /** The value as text: a string as it is, anything else as JSON. */
  text: string;
  rules: EgressRule[];
  /** The forms of `text` searched for in answers, made on first use. */
  echoes: EchoForm[] | null;
}

interface RunBindings {
  byPlaceholder: Map<string, Bound>;
  byName: Map<string, string>;
  /** `action|name|destination` already audited in this run. */
  audited: Set<string>;
}

const HOST_MISMATCH = "fetch was refused: the request carries a host-bound secret and its destination is not one of the secret's hosts";
const UNREADABLE_ANSWER = "fetch failed: the answer to a request carrying a host-bound secret came in an encoding the host cannot decode, so it could not be checked for the secret";
// The answer must come whole and in a coding the host decodes, or it cannot
// be searched for echoes of the value: the client's own Accept-Encoding, no
// byte ranges (a range could start inside an echo and hand back its tail).
const ANSWER_SHAPING = new Set(["accept-encoding", "range", "if-range"]);
const readableAnswerHeaders = (headers: HostFetchRequest["headers"]) => headers.filter(([name]) => !ANSWER_SHAPING.has(name.toLowerCase()));
// Shorter echoes are not masked in responses: they would match unrelated bytes.
const MIN_ECHO = 4;

export interface FetchPlan {
  request: HostFetchRequest;
  /** For the egress client: every hop must match each of these. */
  options: Pick<FetchCallOptions, "boundHosts">;
  /** Takes the values back out of what the destination answered. */
  unmask: (response: HostFetchResponse) => HostFetchResponse;
}

export function createBoundSecrets(audit: BoundAuditSink) {
  const runs = new Map<string, RunBindings>();

  const lookupIn = (bindings: RunBindings | undefined): Lookup => (placeholder) => bindings?.byPlaceholder.get(placeholder)?.text;

  async function record(ctx: RunContext, bindings: RunBindings, bound: Bound, action: BoundAudit["action"], destination: string, reason?: string) {
    const key = `${action}|${bound.read.name}|${destination}`;
    if (bindings.audited.has(key)) return;
    await audit(ctx, { action, name: bound.read.name, scope: bound.read.scope, version: bound.read.version, destination, ...(reason ? { reason } : {}) });
    bindings.audited.add(key);
  }

  /** Audits a denial for each known placeholder in `text`; answers whether there was any. */
  async function denyIn(ctx: RunContext, text: string, destination: string, reason: string): Promise<boolean> {
    const bindings = runs.get(ctx.run.id);
    if (!bindings || !text.includes(PLACEHOLDER_PREFIX)) return false;
    const found = placeholdersIn(text, lookupIn(bindings));
    for (const placeholder of found) await record(ctx, bindings, bindings.byPlaceholder.get(placeholder) as Bound, "secret.denied", destination, reason);
    return found.length > 0;
  }

  return {
    /** The placeholder the run's script gets for a bound secret: the same for every read of it in the run. */
    placeholder(ctx: RunContext, read: BoundRead): string {
      let bindings = runs.get(ctx.run.id);
      if (!bindings) {
        bindings = { byPlaceholder: new Map(), byName: new Map(), audited: new Set() };
        runs.set(ctx.run.id, bindings);
      }
      const known = bindings.byName.get(read.name);
      if (known !== undefined && bindings.byPlaceholder.get(known)?.read.version === read.version) return known;
      const placeholder = `${PLACEHOLDER_PREFIX}${randomBytes(24).toString("base64url")}`;
      const text = typeof read.value === "string" ? read.value : JSON.stringify(read.value);
      bindings.byPlaceholder.set(placeholder, { read, text, rules: parseEgressRules(read.boundHosts), echoes: null });
      bindings.byName.set(read.name, placeholder);
      return placeholder;
    },

    /**
     * The request to send in place of the script's: placeholders replaced
     * when its destination is every used secret's host. Throws FetchError
     * `secret_host_mismatch` (audited as denied) when it is not, or when a
     * placeholder sits in the host or a header name.
     */
    async prepareFetch(ctx: RunContext, request: HostFetchRequest): Promise<FetchPlan> {
      const bindings = runs.get(ctx.run.id);
      const plain: FetchPlan = { request, options: {}, unmask: (response) => response };
      if (!bindings) return plain;
      const lookup = lookupIn(bindings);
      let url: URL;
      try {
        url = new URL(request.url);
      } catch {
        return plain; // the client refuses it as not valid
      }
      const destination = url.host;
      if (placeholderInHost(url, lookup) || placeholderInHeaderNames(request, lookup)) {
        const everything = `${request.url}\n${request.headers.flat().join("\n")}`;
        await denyIn(ctx, everything, destination, "placeholder in the host or a header name");
        throw new FetchError("secret_host_mismatch", HOST_MISMATCH);
      }
      const done = substitute(request, url, lookup);
      if (done.used.length === 0) return plain;
      const used = done.used.map((placeholder) => bindings.byPlaceholder.get(placeholder) as Bound);
      const strangers = used.filter((bound) => !isBoundHost(bound.rules, url));
      if (strangers.length > 0) {
        for (const bound of strangers) await record(ctx, bindings, bound, "secret.denied", destination, "destination is not a bound host");
        throw new FetchError("secret_host_mismatch", HOST_MISMATCH);
      }
      for (const bound of used) await record(ctx, bindings, bound, "secret.used", destination);
      const echoes: EchoForm[] = [];
      for (const placeholder of done.used) {
        const bound = bindings.byPlaceholder.get(placeholder) as Bound;
        bound.echoes ??= compileEchoes(echoForms(bound.text), placeholder, MIN_ECHO);
        echoes.push(...bound.echoes);
      }
      echoes.push(...compileEchoes(done.basics, "[bound credentials]", 1));
      // The URL the script asked for, placeholder and all: an answer that was
      // not redirected reports it, so the value never comes back through
      // `response.url` however the URL parser re-encoded it.
      const asked = new URL(request.url);
      asked.hash = "";
      const unmask = (response: HostFetchResponse): HostFetchResponse => {
        const encoding = response.headers.find(([name]) => name.toLowerCase() === "content-encoding")?.[1] ?? null;
        if (response.body.byteLength > 0 && !decodesContentEncoding(encoding)) throw new FetchError("egress_denied", UNREADABLE_ANSWER);
        const masked = maskResponse(response, echoes);
        return response.redirected ? masked : { ...masked, url: asked.href };
      };
      return { request: { ...done.request, headers: readableAnswerHeaders(done.request.headers) }, options: { boundHosts: used.map((bound) => bound.rules) }, unmask };
    },

    /**
     * Refuses mail that carries a placeholder of the run: audited as denied;
     * answers true when the caller must refuse it.
     */
    refuseMail: (ctx: RunContext, message: unknown) => denyIn(ctx, JSON.stringify(message) ?? "", "email", "mail is not a bound host"),

    /** Audits as denied each placeholder the run's logs, result or error carry (they keep the placeholder: the value never entered). */
    async auditOutcome(ctx: RunContext, outcome: RunOutcome): Promise<void> {
      if (!runs.has(ctx.run.id)) return;
      await denyIn(ctx, outcome.logs.map((line) => line.message).join("\n"), "log", "a log line is not a bound host");
      await denyIn(ctx, JSON.stringify(outcome.result) ?? "", "result", "a run result is not a bound host");
      if (outcome.error) await denyIn(ctx, `${outcome.error.message}\n${outcome.error.stack ?? ""}`, "error", "a run error is not a bound host");
    },

    /** The run ended: its placeholders mean nothing from now on. */
    end(runId: string): void {
      runs.delete(runId);
    },
  };
}

export type BoundSecrets = ReturnType<typeof createBoundSecrets>;
