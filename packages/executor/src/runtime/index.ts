/**
 * The web runtime's classes and functions, put on the global by `install`.
 * Evaluated on a context's first touch of any of them (see loader.ts).
 */
import { AbortController, AbortSignal } from "./abort.ts";
import { atob, btoa } from "./base64.ts";
import { Blob, File } from "./blob.ts";
import { connect } from "./bridge.ts";
import { Crypto, createCrypto } from "./crypto.ts";
import { DOMException } from "./dom-exception.ts";
import { TextDecoder, TextEncoder } from "./encoding.ts";
import { Event, EventTarget } from "./events.ts";
import { fetch } from "./fetch.ts";
import { FormData } from "./form-data.ts";
import { Headers } from "./headers.ts";
import { Performance, createPerformance } from "./performance.ts";
import { Request } from "./request.ts";
import { Response } from "./response.ts";
import { structuredClone } from "./structured-clone.ts";
import { CryptoKey, SubtleCrypto } from "./subtle.ts";
import { beginRun, clearInterval, clearTimeout, queueMicrotask, setInterval, setTimeout } from "./timers.ts";
import { whatwgUrl } from "./url.ts";

export { beginRun, connect };

/**
 * Puts the web globals on `global`, except those `keep` says the script has
 * already given a value of its own. They reach the host only once `connect`
 * has been handed the bridge.
 */
export function install(global: object, keep: (name: string) => boolean): void {
  const globals: Record<string, unknown> = {
    AbortController,
    AbortSignal,
    Blob,
    Crypto,
    CryptoKey,
    DOMException,
    Event,
    EventTarget,
    File,
    FormData,
    Headers,
    Performance,
    Request,
    Response,
    SubtleCrypto,
    TextDecoder,
    TextEncoder,
    atob,
    btoa,
    clearInterval,
    clearTimeout,
    crypto: createCrypto(),
    fetch,
    performance: createPerformance(),
    queueMicrotask,
    self: global,
    setInterval,
    setTimeout,
    structuredClone,
  };
  // Same attributes as the builtins: writable, configurable, not enumerable.
  const define = (name: string, value: unknown) => Object.defineProperty(global, name, { value, writable: true, configurable: true, enumerable: false });
  for (const name of Object.keys(globals)) if (!keep(name)) define(name, globals[name]);
  // URL and URLSearchParams load whatwg-url on first touch (see url.ts);
  // from then on, or once assigned, they are ordinary data properties.
  for (const name of ["URL", "URLSearchParams"] as const) {
    if (keep(name)) continue;
    Object.defineProperty(global, name, {
      configurable: true,
      enumerable: false,
      get: () => {
        const value = whatwgUrl()[name];
        define(name, value);
        return value;
      },
      set: (value: unknown) => define(name, value),
    });
  }
}
