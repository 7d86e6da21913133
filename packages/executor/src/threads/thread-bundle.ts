/**
 * The code an executor thread runs, as one CommonJS text built with esbuild
 * once per process (and per thread-host module) on the caller's thread.
 * A worker_thread does not inherit the TypeScript loader its parent runs
 * under (tsx, vitest), and loading dozens of modules through a loader would
 * cost a thread's start hundreds of milliseconds; one bundle of plain
 * JavaScript starts in tens. Only isolated-vm (native) is loaded from
 * node_modules, through a `require` rooted at this package.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";

const built = new Map<string, string>();

/**
 * The thread's code: thread-main.ts started with the thread-host module at
 * `hostModule` (a file URL), or with none.
 */
export function threadBundle(hostModule: string | null): string {
  const key = hostModule ?? "";
  const cached = built.get(key);
  if (cached !== undefined) return cached;
  const main = JSON.stringify(fileURLToPath(new URL("./thread-main.ts", import.meta.url)));
  const contents =
    hostModule === null
      ? `import { startThread } from ${main}; startThread(null);`
      : `import { startThread } from ${main}; import * as hostModule from ${JSON.stringify(hostModule.startsWith("file:") ? fileURLToPath(hostModule) : hostModule)}; startThread(hostModule);`;
  const out = buildSync({
    stdin: { contents, loader: "ts", resolveDir: fileURLToPath(new URL(".", import.meta.url)), sourcefile: "executor-thread.ts" },
    bundle: true,
    write: false,
    platform: "node",
    format: "cjs",
    target: "node20",
    external: ["isolated-vm"],
    alias: { esbuild: fileURLToPath(new URL("./no-esbuild.ts", import.meta.url)) },
    logLevel: "silent",
  });
  const code = out.outputFiles[0]?.text ?? "";
  if (code === "") throw new Error("executor: the executor thread's code built to nothing");
  // An eval'd worker resolves `require` from the working directory; isolated-vm is this package's.
  const root = JSON.stringify(createRequire(import.meta.url).resolve("isolated-vm"));
  const text = `(function (require) {\n${code}\n})((() => { const r = require("node:module").createRequire(${root}); return (id) => (id === "isolated-vm" ? r(${root}) : r(id)); })());`;
  built.set(key, text);
  return text;
}
