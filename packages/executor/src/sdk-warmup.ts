/**
 * Makes this thread's SDK bootstrap cache warm (sdk-script.ts) without a
 * tenant's run: in a throwaway isolate, a context is made as for any script
 * version and our own warm-up module runs once through it (a log line, an
 * awaited promise, a result), then the bootstrap is compiled again and V8
 * answers with the functions that run compiled. Only our code runs there,
 * as in the web runtime's warm-up (runtime-script.ts): the first app on a
 * thread does not decide what every app's isolates find compiled. It makes
 * no host call; a path it leaves out is compiled on its first use, as
 * without a cache.
 */
import ivm from "isolated-vm";
import { disposeNow, settledWithin } from "./later.ts";
import { RunSession } from "./run-session.ts";
import { compileLoader, compileRuntimeProperSync } from "./runtime-script.ts";
import { SandboxContext, type Enter } from "./sandbox-context.ts";
import { compileSdk, takeWarmSdkCache } from "./sdk-script.ts";
import { SCRIPT_FILENAME, wrapScript } from "./sdk-source.ts";
import type { Host, RunContext } from "./types.ts";

// As compileScript writes a module: `var __switchyard_module` with its exports.
const WARMUP_MODULE = `var __switchyard_module = { default: async (event, ctx) => { console.log("warm-up", event.kind); await Promise.resolve(); return { ok: true, attempt: ctx.run.attempt }; } };`;
const WARMUP_CTX: RunContext = { app: { id: "app_sdk_warmup", name: "sdk-warmup" }, trigger: null, run: { id: "run_sdk_warmup", attempt: 1, event_id: "evt_sdk_warmup" } };
const ENTRY_TIMEOUT_MS = 1_000;

const refuse = () => Promise.reject(new Error("no host during the SDK warm-up"));
// The warm-up module calls none of these; a call would be refused.
const NO_HOST: Host = { getSecret: refuse, listSecrets: refuse, sendEmail: refuse };

let warming: Promise<void> | null = null;

/**
 * Warms the cache, once per thread (see the file comment). Never rejects: a
 * warm-up that fails leaves the cache cold and breaks no run.
 */
export function warmSdkCache(): Promise<void> {
  warming ??= warmUp().catch(() => {});
  return warming;
}

/**
 * Settles once the warm-up is over (at once when none was started), or
 * after `waitMs` at most. An executor thread waits for it before it lets
 * itself be terminated: a thread ended while inside an isolate takes the
 * whole process down (isolated-vm asserts).
 */
export function sdkWarmupSettled(waitMs: number): Promise<void> {
  return settledWithin(warming, waitMs);
}

async function warmUp(): Promise<void> {
  let isolate: ivm.Isolate | null = null;
  let context: SandboxContext | null = null;
  try {
    isolate = new ivm.Isolate({ memoryLimit: 32 });
    const loader = compileLoader(isolate);
    const sdk = compileSdk(isolate);
    const script = isolate.compileScriptSync(wrapScript(WARMUP_MODULE).source, { filename: SCRIPT_FILENAME });
    const enter: Enter = (ref, args) => {
      ref.applySync(undefined, args, { timeout: ENTRY_TIMEOUT_MS });
      return true;
    };
    const own = isolate;
    const parts = { loader, sdk, script, runtimeProper: () => compileRuntimeProperSync(own), urlLibrary: () => null };
    context = SandboxContext.create(isolate, parts, { logMaxChars: 1_000, resultMaxChars: 1_000 }, enter);
    const started = performance.now();
    const session = new RunSession({
      host: NO_HOST,
      ctx: WARMUP_CTX,
      startedAt: started,
      logMaxBytes: 1_000,
      onHostFailure: () => {},
      onSecretDelivered: () => {},
      deadline: started + ENTRY_TIMEOUT_MS,
      maxSubrequests: 0,
      fetchTimeoutMs: ENTRY_TIMEOUT_MS,
    });
    // It answers within its entry; the wait only bounds a warm-up that did not.
    const answered = context.invoke(session, JSON.stringify({ event: { kind: "manual", payload: {} }, ctx: WARMUP_CTX }), () => {});
    await settledWithin(answered, ENTRY_TIMEOUT_MS);
    session.finish();
    takeWarmSdkCache(isolate);
  } catch {
    // Left cold: each new isolate compiles the bootstrap's functions on first call.
  } finally {
    context?.release();
    if (isolate) disposeNow(isolate);
  }
}
