/**
 * The URL parser of a script's context, INSIDE the isolate: the isolate's
 * URL library (url-library.ts), which the host hands over on first need,
 * or, when the isolate has none, the same functions evaluated here.
 *
 * The library lives in a context of its own: none of its objects may reach
 * script code, and script code must not be able to call into it with an
 * object of its own (the library would call the object's methods with its
 * own objects as arguments: a `replace` handed a RegExp of the library's
 * context leads to all of its builtins). This file is evaluated after
 * script code has run, and that code may have replaced any builtin, so:
 * - every argument is checked with `typeof` right before it crosses, and
 *   only strings, numbers, null and the library's own URL records (kept
 *   private by url-classes.ts) do;
 * - lists cross as JSON text, and this context makes its own arrays;
 * - options objects have a null prototype (nothing the script put on
 *   Object.prototype is read with a record at hand);
 * - an exception out of the library is replaced by one of this context.
 */
import { host } from "./bridge.ts";
import { urlLibrary, type ParseOptions, type UrlLibrary, type UrlRecord } from "./url-library.ts";

export type { UrlRecord };

type Pair = [string, string];

/** What url-classes.ts uses: the library's functions, lists as arrays of this context. */
export interface UrlParser extends Omit<UrlLibrary, "basicURLParse" | "parseUrlencodedJson" | "serializeUrlencodedJson"> {
  /** The basic URL parser: `input` against `base`. */
  parse(input: string, base: UrlRecord | null): UrlRecord | null | "failure" | undefined;
  /** The basic URL parser with `url` and a state override (a setter). */
  override(input: string, url: UrlRecord, stateOverride: string): void;
  parseUrlencodedString(text: string): Pair[];
  serializeUrlencoded(list: readonly Pair[]): string;
}

const jsonParse = JSON.parse;
const jsonStringify = JSON.stringify;

/** Only a string crosses where the library expects one. */
function text(value: unknown): string {
  if (typeof value !== "string") throw new TypeError("URL: expected a string");
  return value;
}

/** `f()` with no exception of the library's context escaping: the library throws only on a stack overflow, or when its input was not what it expects. */
function guarded<R>(f: () => R): R {
  try {
    return f();
  } catch {
    throw new TypeError("URL: the URL could not be processed");
  }
}

/** One of the library's setters of a record's text field, with `value` checked. */
function setText(set: (url: UrlRecord, value: string) => void, url: UrlRecord, value: unknown): void {
  const given = text(value);
  guarded(() => set(url, given));
}

/** The isolate's library, or this context's own when the host has none to give. */
function library(): UrlLibrary {
  const given: unknown = host().callSync("runtime.url", "");
  if (given !== null && typeof given === "object") return given as UrlLibrary;
  return urlLibrary();
}

/** The parser; see the file comment. Records are only ever ones the library made. */
export function urlParser(): UrlParser {
  const lib = library();
  return {
    parse: (input, base) => {
      const options = { __proto__: null, baseURL: base } as ParseOptions;
      const given = text(input);
      return guarded(() => lib.basicURLParse(given, options));
    },
    override: (input, url, stateOverride) => {
      const options = { __proto__: null, url, stateOverride: text(stateOverride) } as ParseOptions;
      const given = text(input);
      guarded(() => lib.basicURLParse(given, options));
    },
    serializeURL: (url) => guarded(() => lib.serializeURL(url)),
    serializeURLOrigin: (url) => guarded(() => lib.serializeURLOrigin(url)),
    // A record's host is the library's own value (a string, a number or an array of numbers).
    serializeHost: (hostValue) => guarded(() => lib.serializeHost(hostValue)),
    serializeInteger: (n) => {
      if (typeof n !== "number") throw new TypeError("URL: expected a number");
      return guarded(() => lib.serializeInteger(n));
    },
    serializePath: (url) => guarded(() => lib.serializePath(url)),
    setTheUsername: (url, value) => setText(lib.setTheUsername, url, value),
    setThePassword: (url, value) => setText(lib.setThePassword, url, value),
    cannotHaveAUsernamePasswordPort: (url) => guarded(() => lib.cannotHaveAUsernamePasswordPort(url)),
    hasAnOpaquePath: (url) => guarded(() => lib.hasAnOpaquePath(url)),
    emptyPath: (url) => guarded(() => lib.emptyPath(url)),
    parseUrlencodedString: (input) => {
      const given = text(input);
      if (given === "") return [];
      return jsonParse(guarded(() => lib.parseUrlencodedJson(given))) as Pair[];
    },
    serializeUrlencoded: (list) => {
      const json = text(jsonStringify(list));
      return guarded(() => lib.serializeUrlencodedJson(json));
    },
  };
}
