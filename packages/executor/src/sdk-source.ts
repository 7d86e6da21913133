/**
 * The texts the sandbox compiles: the SDK bootstrap (`sdk-runtime.ts`, types
 * stripped, on one line), the same for every app and compiled once per
 * isolate (sdk-script.ts), and each script version's compiled code inside a
 * function, so the author's line numbers are unchanged and only line 1
 * shifts right by `firstLineColumnOffset`.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";
import { MODULE_GLOBAL } from "./compile.ts";

/** The filename stack traces show for script code; `mapStack` looks for it. */
export const SCRIPT_FILENAME = "script.js";

/** The filename stack traces show for the SDK bootstrap's frames (dropped from stored stacks). */
export const SDK_FILENAME = "sdk.js";

/** The filename stack traces show for the web runtime's frames (dropped from stored stacks). */
export const RUNTIME_FILENAME = "runtime.js";

/** The global the runtime script leaves for the SDK bootstrap, which removes it before any script code runs. */
export const RUNTIME_GLOBAL = "__sy_runtime";

/** The global through which the runtime proper's script hands itself to the loader (runtime/loader.ts says the same). */
export const RUNTIME_RECEIVER = "__sy_runtime_receive";

/** The script text to compile and where the author's code starts on line 1. */
export interface WrappedScript {
  source: string;
  /** Characters before the author's first character on line 1. */
  firstLineColumnOffset: number;
}

let sdk: string | undefined;

/**
 * The bootstrap, built once per process (~30 ms: esbuild's first call starts
 * its service). Bundled from the .ts sources rather than taken from
 * `setupSandbox.toString()` because tsx and vitest transpile differently (tsx
 * injects `__name()` calls that do not exist inside the isolate).
 */
export function sdkSource(): string {
  if (sdk !== undefined) return sdk;
  const built = buildSync({
    entryPoints: [fileURLToPath(new URL("./sdk-runtime.ts", import.meta.url))],
    bundle: true,
    write: false,
    format: "iife",
    globalName: "__sy_sdk",
    platform: "neutral",
    target: "es2022",
    minifyWhitespace: true,
    legalComments: "none",
    logLevel: "silent",
  });
  const bundle = (built.outputFiles[0]?.text ?? "").trim();
  if (bundle === "") throw new Error("executor: the SDK bootstrap built to nothing");
  // Its value is `setupSandbox`, which the host hands the author's function
  // (sandbox-context.ts): the author's code is never inside the bootstrap's
  // scope, so it cannot name the closure, and the bootstrap is strict, so
  // `caller` cannot reach it either. `return` starts a line of its own: the
  // bundle may end in a line comment.
  sdk = `(function(){"use strict";${bundle}\nreturn __sy_sdk.setupSandbox;})()`;
  return sdk;
}

let runtime: string | undefined;

/** The specifier runtime/tr46.ts uses for the real tr46. */
const TR46_FULL = "@switchyard/tr46-full";

/**
 * whatwg-url's `require("tr46")` gets runtime/tr46.ts (the URL Standard's
 * ASCII shortcut), which alone reaches the real tr46, resolved from
 * whatwg-url, whose dependency it is. (buildSync takes no plugins.)
 */
function tr46Aliases(): Record<string, string> {
  const whatwgUrl = createRequire(import.meta.url).resolve("whatwg-url");
  return {
    tr46: fileURLToPath(new URL("./runtime/tr46.ts", import.meta.url)),
    [TR46_FULL]: createRequire(whatwgUrl).resolve("tr46"),
  };
}

/** One esbuild bundle of a runtime entry, as the text of a classic script's body. */
function bundleRuntime(entry: string, globalName?: string): string {
  const built = buildSync({
    entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
    bundle: true,
    write: false,
    format: "iife",
    ...(globalName === undefined ? {} : { globalName }),
    platform: "neutral",
    mainFields: ["main", "module"],
    // whatwg-url uses the globals TextEncoder/TextDecoder: it gets the runtime's own.
    inject: [fileURLToPath(new URL("./runtime/encoding.ts", import.meta.url))],
    alias: tr46Aliases(),
    target: "es2022",
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: "none",
    logLevel: "silent",
  });
  const text = (built.outputFiles[0]?.text ?? "").trim();
  if (text === "") throw new Error(`executor: the web runtime (${entry}) built to nothing`);
  return text;
}

/**
 * The web runtime's loader (`runtime/loader.ts`), built once per process
 * into a classic script that every context runs before its script
 * version's own. A few KB: the runtime proper comes later, if at all.
 */
export function runtimeSource(): string {
  if (runtime !== undefined) return runtime;
  // Strict, and inside a function so its `var` stays local; the export goes
  // on the global as a configurable property the bootstrap can delete.
  runtime = `(function(){"use strict";${bundleRuntime("./runtime/loader.ts", "__sy_loader")}\nObject.defineProperty(globalThis,${JSON.stringify(RUNTIME_GLOBAL)},{value:__sy_loader.connect(),configurable:true});})();`;
  return runtime;
}

let proper: string | undefined;

/** sdk-source's own helper in the runtime proper (see `lazyExports`): a module's exports object, made on first call. */
const MODULE_HELPER = "var __sy_lazy=(make)=>{var made;return()=>made||(made=make());};";

/**
 * Rewrites esbuild's exports of the runtime's lazily `require`d modules so
 * that a context pays for a module's exports object only when the module is
 * first required. esbuild builds each one at the bundle's top level: an
 * object literal of getter functions and a `defineProperty` per export, for
 * every module, used or not, and copies it again on each require; that was
 * about half of what evaluating the runtime cost a fresh context (a CPU
 * profile of the bundle in node:vm contexts). Here each
 * `__export(x_exports,{A:()=>A,...});` becomes
 * `x_exports=__sy_lazy(()=>({get A(){return A},...}));` and each
 * `__toCommonJS(x_exports)` becomes `x_exports()`: the same object on
 * every call, made without any builtin (the runtime is evaluated after
 * script code, which may have replaced `Object.defineProperty` or put
 * accessors on Object.prototype), and never reachable from script code.
 * Throws when esbuild's output no longer has the expected shape: the
 * runtime would otherwise be built half rewritten, silently.
 */
export function lazyExports(bundle: string): string {
  const fail = (why: string): never => {
    throw new Error(`executor: the web runtime's bundle has an unexpected shape (${why})`);
  };
  let exportCalls = 0;
  const rewritten = bundle
    .replace(/__export\((\w+_exports),\{([^{}]*)\}\);/g, (_all, target: string, body: string) => {
      exportCalls++;
      const getters = body.split(",").map((entry) => {
        const match = /^(\w+):\(\)=>(\w+)$/.exec(entry);
        return match === null ? fail(`export entry ${JSON.stringify(entry.slice(0, 40))}`) : `get ${match[1]}(){return ${match[2]}}`;
      });
      return `${target}=__sy_lazy(()=>({${getters.join(",")}}));`;
    })
    .replace(/__toCommonJS\((\w+_exports)\)/g, "$1()");
  if (exportCalls === 0) fail("no exports rewritten");
  if (/__export\(|__toCommonJS\(/.test(rewritten)) fail("an export left as esbuild wrote it");
  // Every other use of an exports object is one of the forms written here (or its declaration).
  for (const use of rewritten.matchAll(/\b(\w+_exports)\b(.{0,12})/g)) {
    const [, name, after] = use as unknown as [string, string, string];
    if (name.startsWith("__sy_")) continue;
    if (!/^(=\{\}|=__sy_lazy\(|\(\))/.test(after)) fail(`a use of ${name}: ${JSON.stringify(after)}`);
  }
  return MODULE_HELPER + rewritten;
}

/**
 * The runtime proper (`runtime/index.ts` with whatwg-url, ~360 KB) as a
 * classic script whose top level only hands a function that evaluates it
 * (and answers its exports) to the loader's receiver, `RUNTIME_RECEIVER`
 * (see runtime/loader.ts). Running the script costs next to nothing; its
 * code is compiled once per isolate (runtime-script.ts).
 */
export function runtimeProperSource(): string {
  proper ??= `${RUNTIME_RECEIVER}(function(){"use strict";var __sy_rt_exports;${lazyExports(bundleRuntime("./runtime/proper.ts"))}\nreturn __sy_rt_exports;});`;
  return proper;
}

// What goes before the author's code on line 1.
const SCRIPT_HEAD = "(function(){";

/**
 * Wraps compiled script `code` (which declares `var __switchyard_module`) so
 * that running it in a context yields a function answering the module. Only
 * a function is made: the author's code runs when the SDK bootstrap calls
 * it, on the context's first run. The `var` stays local to that function:
 * `globalThis` never sees it.
 *
 * @example
 * const { source, firstLineColumnOffset } = wrapScript(compiled.code);
 * const script = await isolate.compileScript(source, { filename: SCRIPT_FILENAME });
 */
export function wrapScript(code: string): WrappedScript {
  // The epilogue starts on a new line: the code may end in a line comment
  // (esbuild's `//# sourceMappingURL=`).
  return { source: `${SCRIPT_HEAD}${code}\n;return ${MODULE_GLOBAL};})`, firstLineColumnOffset: SCRIPT_HEAD.length };
}

/** The three texts an executor thread needs, built here once so a thread never runs esbuild. */
export interface SandboxSources {
  sdk: string;
  runtime: string;
  proper: string;
}

/** This process's sandbox texts, built on first use. */
export function sandboxSources(): SandboxSources {
  return { sdk: sdkSource(), runtime: runtimeSource(), proper: runtimeProperSource() };
}

/** Takes texts built by another thread (`sandboxSources`), instead of building them here. */
export function seedSandboxSources(sources: SandboxSources): void {
  sdk = sources.sdk;
  runtime = sources.runtime;
  proper = sources.proper;
}
