/**
 * `URL` and `URLSearchParams`: whatwg-url (the URL Standard's reference
 * implementation, checked against the WPT vectors in test/fixtures/wpt),
 * bundled INSIDE the isolate. Its TextEncoder/TextDecoder are the runtime's
 * own (sdk-source.ts injects them), so it needs nothing from the host.
 *
 * Loaded on first use: evaluating it (with tr46's Unicode tables) costs
 * milliseconds, which a context that never touches a URL should not pay.
 */

/** The part of whatwg-url's exports the runtime uses. */
interface WhatwgUrl {
  URL: typeof globalThis.URL;
  URLSearchParams: typeof globalThis.URLSearchParams;
}

declare const require: (id: string) => unknown;

let lib: WhatwgUrl | null = null;

/** whatwg-url, evaluated in this context on the first call. */
export function whatwgUrl(): WhatwgUrl {
  lib ??= require("whatwg-url") as WhatwgUrl;
  return lib;
}

/** Parses an absolute URL (throws TypeError when it is not one). */
export function parseUrl(input: string, base?: string): URL {
  const { URL } = whatwgUrl();
  return base === undefined ? new URL(input) : new URL(input, base);
}

/** True for a URLSearchParams of this context (without loading whatwg-url to find out). */
export function isUrlSearchParams(value: unknown): value is URLSearchParams {
  return lib !== null && value instanceof lib.URLSearchParams;
}

/** Parses `application/x-www-form-urlencoded` text. */
export function parseUrlEncoded(text: string): URLSearchParams {
  return new (whatwgUrl().URLSearchParams)(text);
}
