/**
 * The runtime's way to `URL` and `URLSearchParams` (url-classes.ts), which
 * are evaluated on first use: whatwg-url's parser costs a fresh context
 * ~100 µs to evaluate, which a context that never touches a URL should not
 * pay. esbuild makes a `require`d module lazy.
 */
import type * as Classes from "./url-classes.ts";

declare const require: (id: string) => unknown;

let classes: typeof Classes | null = null;

/** The classes, evaluated in this context on the first call. */
export function urlClasses(): typeof Classes {
  classes ??= require("./url-classes.ts") as typeof Classes;
  return classes;
}

/** Parses an absolute URL (throws TypeError when it is not one). */
export function parseUrl(input: string, base?: string): Classes.URL {
  const { URL } = urlClasses();
  return base === undefined ? new URL(input) : new URL(input, base);
}

/** True for a URLSearchParams of this context (without loading the classes to find out). */
export function isUrlSearchParams(value: unknown): value is Classes.URLSearchParams {
  return classes !== null && value instanceof classes.URLSearchParams;
}

/** Parses `application/x-www-form-urlencoded` text. */
export function parseUrlEncoded(text: string): Classes.URLSearchParams {
  return new (urlClasses().URLSearchParams)(text);
}
