/// <reference types="vite/client" />
/**
 * The TypeScript language service for the script editor, in a web worker
 * (it is ~3 MB: it loads when an editor first opens, never with the page).
 * The program is one script file plus the declarations of everything a
 * script sees, fetched from the server (`GET /api/v1/sdk.d.ts`, the same
 * text the sandbox is tested against), over ECMAScript's own library
 * (es2023, no DOM: the sandbox is not a browser). Everything is local: no
 * file is fetched from anywhere but this origin.
 */
import { createSystem, createVirtualTypeScriptEnvironment } from "@typescript/vfs";
import { createWorker } from "@valtown/codemirror-ts/worker";
import * as Comlink from "comlink";
import ts from "typescript";
import { COMPILER_OPTIONS, SDK_TYPES_FILE } from "./options.ts";

// ECMAScript 5 to 2023 and the decorators they reference: what `lib: ["es2023"]` reads.
const libraries = import.meta.glob("../../../node_modules/typescript/lib/lib.{es5,es2015,es2016,es2017,es2018,es2019,es2020,es2021,es2022,es2023,decorators}{,.*}.d.ts", {
  query: "?raw",
  import: "default",
  eager: true,
}) as Record<string, string>;

async function environment() {
  const files = new Map<string, string>();
  for (const [path, text] of Object.entries(libraries)) files.set(`/${path.slice(path.lastIndexOf("/") + 1)}`, text);
  const answer = await fetch("/api/v1/sdk.d.ts");
  if (!answer.ok) throw new Error(`the script declarations could not be loaded (HTTP ${answer.status})`);
  files.set(SDK_TYPES_FILE, await answer.text());
  return createVirtualTypeScriptEnvironment(createSystem(files), [SDK_TYPES_FILE], ts, COMPILER_OPTIONS(ts));
}

Comlink.expose(createWorker(environment));
