/**
 * The URL parser of a script's context, INSIDE the isolate: the isolate's
 * URL library (url-library.ts), which the host hands over on first need,
 * or, when the isolate has none, the same functions evaluated here.
 *
 * The library lives in a context of its own: none of its objects may reach
 * script code. So URL records stay private to url-classes.ts, lists cross
 * as JSON text (this context makes its own arrays), records are passed as
 * arguments and in options objects with a null prototype (nothing the
 * script put on Object.prototype is read with a record at hand), and
 * an exception out of the library (a stack overflow: it throws nothing
 * else) is replaced by one of this context.
 */
import { host } from "./bridge.ts";
import { urlLibrary, type ParseOptions, type UrlLibrary, type UrlRecord } from "./url-library.ts";

export type { UrlRecord };

type Pair = [string, string];

/** What url-classes.ts uses: the library's functions, lists as arrays of this context. */
export interface UrlParser extends Omit<UrlLibrary, "parseUrlencodedJson" | "serializeUrlencodedJson" | "basicURLParse"> {
  /** The basic URL parser: `input` against `base`. */
  parse(input: string, base: UrlRecord | null): UrlRecord | null | "failure" | undefined;
  /** The basic URL parser with `url` and a state override (a setter). */
  override(input: string, url: UrlRecord, stateOverride: string): void;
  parseUrlencodedString(text: string): Pair[];
  serializeUrlencoded(list: readonly Pair[]): string;
}

const jsonParse = JSON.parse;
const jsonStringify = JSON.stringify;

/**
 * The library's error, as one of this context (see the file comment). Not
 * reached by a test: a stack overflow is the only way, and V8 (Node 20)
 * aborts the process when it meets the stack limit while compiling a
 * regular expression, which parsing near that limit does.
 */
function ownError(): RangeError {
  return new RangeError("Maximum call stack size exceeded");
}

/** `f` (of one or two arguments) called with no exception of the library's context escaping. */
function guard<A, R>(f: (a: A) => R): (a: A) => R;
function guard<A, B, R>(f: (a: A, b: B) => R): (a: A, b: B) => R;
function guard<A, B, R>(f: (a: A, b?: B) => R): (a: A, b?: B) => R {
  // Two arguments at most, passed as such: a spread would run this context's array iterator, which script code can replace.
  return (a, b) => {
    try {
      return f(a, b);
    } catch {
      throw ownError();
    }
  };
}

/** The isolate's library, or this context's own when the host has none to give. */
function library(): UrlLibrary {
  const given: unknown = host().callSync("runtime.url", "");
  if (given !== null && typeof given === "object") return given as UrlLibrary;
  return urlLibrary();
}

/** The parser; see the file comment. */
export function urlParser(): UrlParser {
  const lib = library();
  const basicURLParse = guard(lib.basicURLParse);
  const parseJson = guard(lib.parseUrlencodedJson);
  const serializeJson = guard(lib.serializeUrlencodedJson);
  return {
    // Options objects with a null prototype: nothing is read through this context's Object.prototype.
    parse: (input, base) => basicURLParse(input, { __proto__: null, baseURL: base } as ParseOptions),
    override: (input, url, stateOverride) => {
      basicURLParse(input, { __proto__: null, url, stateOverride } as ParseOptions);
    },
    serializeURL: guard(lib.serializeURL),
    serializeURLOrigin: guard(lib.serializeURLOrigin),
    serializeHost: guard(lib.serializeHost),
    serializeInteger: guard(lib.serializeInteger),
    serializePath: guard(lib.serializePath),
    setTheUsername: guard(lib.setTheUsername),
    setThePassword: guard(lib.setThePassword),
    cannotHaveAUsernamePasswordPort: guard(lib.cannotHaveAUsernamePasswordPort),
    hasAnOpaquePath: guard(lib.hasAnOpaquePath),
    emptyPath: guard(lib.emptyPath),
    parseUrlencodedString: (text) => (text === "" ? [] : (jsonParse(parseJson(text)) as Pair[])),
    serializeUrlencoded: (list) => serializeJson(jsonStringify(list)),
  };
}
