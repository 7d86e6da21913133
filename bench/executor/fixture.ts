/**
 * What bench/executor measures, built once: the trivial script compiled by the
 * real compiler, the same handler as a bare host function and under node:vm,
 * and a Host whose `getSecret` opens a sealed value with AES-256-GCM exactly
 * as the bare peer does, so the secrets comparison is honest. The Host
 * announces secret changes (`watchSecrets`; the bench's never change), as the
 * server's does: so a run's repeated reads are answered on its executor
 * thread, the production path.
 */
import vm from "node:vm";
import { open, seal, SecretKey } from "@switchyard/crypto";
import { compileScript, type CompiledScript, type Host, type RunRequest } from "@switchyard/executor";

/** The handler every warm, fresh and cold case runs, as the author writes it. */
export const TRIVIAL_SOURCE = "export default (event, ctx) => ({ ok: true, kind: event.kind, attempt: ctx.run.attempt });";

/** The same handler as a host function: the floor of "calling a handler". */
export const bareHandler = (event: { kind: string }, ctx: { run: { attempt: number } }) => ({ ok: true, kind: event.kind, attempt: ctx.run.attempt });

/** Secret reads per script run in the secrets case; the run's own overhead is spread over them. */
export const GETS_PER_RUN = 100;

export const EXPECTED_RESULT = { ok: true, kind: "manual", attempt: 1 };

/** A handler that touches the web runtime (URL, crypto, TextEncoder): its fresh-context row prices the runtime's first use in a context. */
export const WEB_SOURCE =
  'export default () => ({ path: new URL("https://example.com/a/../b?c=1").pathname, uuid: crypto.randomUUID().length, bytes: new TextEncoder().encode("é").length });';
export const WEB_RESULT = { path: "/b", uuid: 36, bytes: 2 };

export interface ExecutorFixture {
  trivial: CompiledScript;
  fresh: CompiledScript;
  /** `WEB_SOURCE` with a fresh context per run. */
  webFresh: CompiledScript;
  secretsLoop: CompiledScript;
  /** The loop over GETS_PER_RUN different names: each read is the run's first of its name, answered by the main thread. */
  firstReadsLoop: CompiledScript;
  /** The same loop over `secrets.list`, which the host answers at once: the cost of crossing alone. */
  crossingLoop: CompiledScript;
  host: Host;
  bareOpen(): unknown;
  secretValue: string;
  request(script: CompiledScript, appId?: string): RunRequest;
  /** node:vm: the compiled code evaluated once in one context, its handler called with the same JSON in and out. */
  nodeVmWarm(): Promise<string>;
  /** node:vm: a new context per call, the compiled code evaluated in it, then the handler called. */
  nodeVmFresh(): Promise<string>;
}

export async function openFixture(): Promise<ExecutorFixture> {
  const compile = async (source: string) => {
    const out = await compileScript({ source, language: "js" });
    if (!out.ok) throw new Error(`bench: the script did not compile: ${out.error.message}`);
    return out.value;
  };
  const trivialCode = await compile(TRIVIAL_SOURCE);
  const webCode = await compile(WEB_SOURCE);
  // The loop answers how many calls answered what the first did, so a run that did not cross for each shows.
  // `i` is the loop's index (0 for the first call).
  const loop = (call: (i: string) => string) =>
    `export default async () => { const first = await ${call("0")}; let same = 1; for (let i = 1; i < ${GETS_PER_RUN}; i++) if (JSON.stringify(await ${call("i")}) === JSON.stringify(first)) same++; return { first, same }; };`;
  const loopCode = await compile(loop(() => `secrets.get("API_KEY")`));
  const firstReadsCode = await compile(loop((i) => `secrets.get("API_KEY_" + ${i})`));
  const crossingCode = await compile(loop(() => "secrets.list()"));
  const limits = { memoryMb: 64, cpuMs: 5_000, wallMs: 30_000 };
  const script = (id: string, code: { code: string; sourceMap: string }, freshContext: boolean): CompiledScript => ({
    id,
    appId: "app_bench",
    version: 1,
    code: code.code,
    sourceMap: code.sourceMap,
    freshContext,
    limits,
  });

  // The peer of the secrets case, and what the host does for each read: the
  // vault's seal shape (AAD naming scope and name), opened and parsed.
  const keyBytes = new Uint8Array(32);
  crypto.getRandomValues(keyBytes);
  const key = SecretKey.fromBytes("bench", keyBytes);
  const secretValue = `sk_live_${"x".repeat(32)}`;
  const aad = "switchyard/secret/v1|app|app_bench|API_KEY|1";
  const sealed = seal(key, Buffer.from(JSON.stringify(secretValue), "utf8"), aad);
  const bareOpen = () => JSON.parse(open(key, sealed, aad).toString("utf8")) as unknown;
  const host: Host = {
    async getSecret(_ctx, name) {
      if (name !== "API_KEY" && !name.startsWith("API_KEY_")) return null;
      return bareOpen();
    },
    async listSecrets() {
      return ["API_KEY"];
    },
    async sendEmail() {
      throw new Error("bench: no email");
    },
    // Nothing changes the bench's secret: there is nothing to announce.
    watchSecrets() {
      return () => {};
    },
  };

  let runs = 0;
  const request = (s: CompiledScript, appId = s.appId): RunRequest => ({
    script: appId === s.appId ? s : { ...s, appId },
    event: { kind: "manual", payload: {} },
    ctx: { app: { id: appId, name: "bench" }, trigger: null, run: { id: `run_${++runs}`, attempt: 1, event_id: `evt_${runs}` } },
  });

  const sample = request(script("s", trivialCode, false));
  const payload = JSON.stringify({ event: sample.event, ctx: sample.ctx });
  const vmScript = new vm.Script(trivialCode.code, { filename: "script.js" });
  const callIn = async (context: vm.Context) => {
    const handler = vm.runInContext("__switchyard_module.default", context) as typeof bareHandler;
    const { event, ctx } = JSON.parse(payload) as { event: { kind: string }; ctx: { run: { attempt: number } } };
    return JSON.stringify(await handler(event, ctx));
  };
  const warmContext = vm.createContext({});
  vmScript.runInContext(warmContext);

  return {
    trivial: script("script_trivial", trivialCode, false),
    fresh: script("script_fresh", trivialCode, true),
    webFresh: script("script_web_fresh", webCode, true),
    secretsLoop: script("script_secrets", loopCode, false),
    firstReadsLoop: script("script_first_reads", firstReadsCode, false),
    crossingLoop: script("script_crossing", crossingCode, false),
    host,
    bareOpen,
    secretValue,
    request,
    nodeVmWarm: () => callIn(warmContext),
    nodeVmFresh: () => {
      const context = vm.createContext({});
      vmScript.runInContext(context);
      return callIn(context);
    },
  };
}
