/**
 * Helpers for the executor's tests: scripts compiled the way `compileScript`
 * compiles them (esbuild iife with the module global), an in-memory `Host`,
 * and run requests. The Host is the executor's input, so a small real one
 * here is a fixture, not a mock of our own code.
 */
import { transformSync } from "esbuild";
import { MODULE_GLOBAL } from "./compile.ts";
import { HostError, type CompiledScript, type Host, type RunContext, type RunRequest, type ScriptLimits } from "./types.ts";

let counter = 0;

export interface ScriptOptions {
  appId?: string;
  id?: string;
  version?: number;
  freshContext?: boolean;
  limits?: Partial<ScriptLimits>;
  /** Keep esbuild's source map beside the code (`sourcemap: "external"`). */
  sourceMap?: boolean;
}

/**
 * Compiles module source `src` (with `export default`) into a `CompiledScript`.
 *
 * @example
 * const script = compileForTest("export default () => 1", { appId: "app_a" });
 */
export function compileForTest(src: string, options: ScriptOptions = {}): CompiledScript {
  const out = transformSync(src, {
    loader: "js",
    format: "iife",
    globalName: MODULE_GLOBAL,
    sourcefile: "script.js",
    ...(options.sourceMap ? { sourcemap: "external" as const } : {}),
  });
  return {
    id: options.id ?? `script_${++counter}`,
    appId: options.appId ?? "app_test",
    version: options.version ?? 1,
    code: out.code,
    sourceMap: options.sourceMap ? out.map : null,
    freshContext: options.freshContext ?? false,
    limits: { memoryMb: 32, cpuMs: 2_000, wallMs: 5_000, ...options.limits },
  };
}

/** A run request for `script`, with the `ctx` the host will be asked about. */
export function requestFor(script: CompiledScript, event: unknown = { kind: "manual", payload: {} }, run: Partial<RunContext["run"]> = {}): RunRequest {
  return {
    script,
    event,
    ctx: {
      app: { id: script.appId, name: `name of ${script.appId}` },
      trigger: null,
      run: { id: `run_${++counter}`, attempt: 1, event_id: `evt_${counter}`, ...run },
    },
  };
}

export interface SentEmail {
  appId: string;
  kind: "text" | "html";
  message: unknown;
}

/** An in-memory Host: secrets per app id, a list of sent emails, and hooks for odd behaviour. */
export interface MemoryHost extends Host {
  secrets: Map<string, Map<string, unknown>>;
  sent: SentEmail[];
  /** Secret reads as `appId/name`, in order. */
  reads: string[];
}

/**
 * A Host that answers from `secrets` (appId → name → value) by `ctx.app.id`.
 * `email.send` to an address without "@" throws `invalid_address`; a secret
 * named `HANG` never settles; a secret named `BROKEN` fails with a plain Error.
 */
export function memoryHost(secrets: Record<string, Record<string, unknown>> = {}): MemoryHost {
  const host: MemoryHost = {
    secrets: new Map(Object.entries(secrets).map(([app, values]) => [app, new Map(Object.entries(values))])),
    sent: [],
    reads: [],
    async getSecret(ctx, name) {
      host.reads.push(`${ctx.app.id}/${name}`);
      if (name === "HANG") return new Promise<never>(() => {});
      if (name === "BROKEN") throw new Error("connection to the vault refused at 10.0.0.7:5432");
      return host.secrets.get(ctx.app.id)?.get(name) ?? null;
    },
    async listSecrets(ctx) {
      return [...(host.secrets.get(ctx.app.id)?.keys() ?? [])];
    },
    async sendEmail(ctx, kind, message) {
      const to = (message as { to?: unknown }).to;
      if (typeof to !== "string" || !to.includes("@")) throw new HostError("invalid_address", `not an email address: ${String(to)}`);
      if (to.startsWith("flaky@")) throw new HostError("smtp_unavailable", "the mail server did not answer", true);
      host.sent.push({ appId: ctx.app.id, kind, message });
      return { message_id: `<${host.sent.length}@test>`, accepted: [to], rejected: [] };
    },
  };
  return host;
}
