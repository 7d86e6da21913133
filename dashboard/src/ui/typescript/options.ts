import type ts from "typescript";

/** Where the script declarations sit in the worker's virtual file system. */
export const SDK_TYPES_FILE = "/switchyard.d.ts";

/** The editor's file for a script in `language`. */
export const scriptPath = (language: "js" | "ts") => `/script.${language}`;

/**
 * How scripts are checked: strict, except that an unannotated handler
 * parameter is allowed (`export default async function (event, ctx)`), and
 * JavaScript is checked too (JSDoc types count). Deploys only strip types
 * (esbuild); these checks are the editor's advice, never a refusal.
 */
export const COMPILER_OPTIONS = (typescript: typeof ts): ts.CompilerOptions => ({
  target: typescript.ScriptTarget.ES2022,
  module: typescript.ModuleKind.ESNext,
  moduleResolution: typescript.ModuleResolutionKind.Bundler,
  lib: ["lib.es2023.d.ts"],
  types: [],
  strict: true,
  noImplicitAny: false,
  allowJs: true,
  checkJs: true,
  noEmit: true,
  skipLibCheck: true,
});
