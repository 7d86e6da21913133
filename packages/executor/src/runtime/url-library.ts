/**
 * whatwg-url's parser and serializers as the URL library of an isolate,
 * INSIDE the isolate, in a context of their own that no script code ever
 * runs in (app-isolate.ts makes it, runtime-script.ts `makeUrlLibrary`).
 * Every context of the isolate parses its URLs here (url-parser.ts).
 *
 * Why: a context new to whatwg-url pays for it twice: evaluating it (~100 µs)
 * and parsing its first URLs with cold code (~150 µs for the first, ~70 for
 * the second, against ~25 in a context that has parsed before). A
 * `freshContext` script paid both on every run. Here the code stays warm
 * for all of the isolate's contexts, and only strings and URL records
 * cross: url-parser.ts keeps records to itself and copies every list.
 *
 * Nothing of this context must reach script code, and nothing script code
 * does must change it: url-parser.ts lets only strings, numbers and the
 * library's own records in, and hands script code nothing of it; and
 * `lockdown` freezes everything reachable from its global and its hidden
 * builtins, so that even an object of it that escaped would change nothing
 * for a later run. One thing does carry from run to run: tr46's tables are
 * loaded on the first non-ASCII or `xn--` host the library meets (~15 ms),
 * so a run can time whether an earlier run of the same app met one.
 */

declare const require: (id: string) => unknown;

/** whatwg-url's URL record (the Standard's "URL"). */
export interface UrlRecord {
  scheme: string;
  username: string;
  password: string;
  host: unknown;
  port: number | null;
  path: string[] | string;
  query: string | null;
  fragment: string | null;
}

/** basicURLParse's options; made with a null prototype by the caller, so nothing inherited is read. */
export interface ParseOptions {
  baseURL?: UrlRecord | null;
  url?: UrlRecord;
  stateOverride?: string;
}

/** What the library answers; every function takes and gives strings, numbers, booleans or records. */
export interface UrlLibrary {
  basicURLParse(input: string, options: ParseOptions): UrlRecord | null | "failure" | undefined;
  serializeURL(url: UrlRecord): string;
  serializeURLOrigin(url: UrlRecord): string;
  serializeHost(host: unknown): string;
  serializeInteger(n: number): string;
  serializePath(url: UrlRecord): string;
  setTheUsername(url: UrlRecord, value: string): void;
  setThePassword(url: UrlRecord, value: string): void;
  cannotHaveAUsernamePasswordPort(url: UrlRecord): boolean;
  hasAnOpaquePath(url: UrlRecord): boolean;
  /** The pathname setter's "empty url's path", with an array of this context. */
  emptyPath(url: UrlRecord): void;
  /** `application/x-www-form-urlencoded` parsing, as text: JSON of [name, value] pairs (the caller makes its own arrays). */
  parseUrlencodedJson(text: string): string;
  /** Serializes pairs given as JSON of [name, value] pairs. */
  serializeUrlencodedJson(pairs: string): string;
}

type Pair = [string, string];

/** The library, made and its context locked; see the file comment. Only ever in the library's own context. */
export function makeUrlLibrary(): UrlLibrary {
  const library = urlLibrary();
  lockdown([library]);
  return library;
}

/**
 * The library's functions over whatwg-url, evaluated in the calling
 * context: the library context's, or a script context's own when its
 * isolate could not make one (url-parser.ts).
 */
export function urlLibrary(): UrlLibrary {
  const usm = require("whatwg-url/lib/url-state-machine.js") as Omit<UrlLibrary, "emptyPath" | "parseUrlencodedJson" | "serializeUrlencodedJson">;
  const urlencoded = require("whatwg-url/lib/urlencoded.js") as {
    parseUrlencodedString(text: string): Pair[];
    serializeUrlencoded(list: readonly Pair[]): string;
  };
  const library: UrlLibrary = {
    basicURLParse: (input, options) => usm.basicURLParse(input, options),
    serializeURL: (url) => usm.serializeURL(url),
    serializeURLOrigin: (url) => usm.serializeURLOrigin(url),
    serializeHost: (host) => usm.serializeHost(host),
    serializeInteger: (n) => usm.serializeInteger(n),
    serializePath: (url) => usm.serializePath(url),
    setTheUsername: (url, value) => usm.setTheUsername(url, value),
    setThePassword: (url, value) => usm.setThePassword(url, value),
    cannotHaveAUsernamePasswordPort: (url) => usm.cannotHaveAUsernamePasswordPort(url),
    hasAnOpaquePath: (url) => usm.hasAnOpaquePath(url),
    emptyPath: (url) => {
      url.path = [];
    },
    parseUrlencodedJson: (text) => JSON.stringify(urlencoded.parseUrlencodedString(text)),
    serializeUrlencodedJson: (pairs) => urlencoded.serializeUrlencoded(JSON.parse(pairs) as Pair[]),
  };
  return library;
}

/** RegExp's legacy static accessors: they read the last match made in this context (another run's URL, once). */
const REGEXP_STATICS = ["input", "$_", "lastMatch", "$&", "lastParen", "$+", "leftContext", "$`", "rightContext", "$'", "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9"];

/**
 * Builtins reachable only from values, never as a property: the iterator,
 * generator and async function prototypes (SES's list of hidden
 * intrinsics, those V8 has).
 */
function hiddenIntrinsics(): unknown[] {
  const proto = Reflect.getPrototypeOf;
  const generator = function* () {};
  const asyncFunction = async function () {};
  const asyncGenerator = async function* () {};
  return [
    proto([][Symbol.iterator]()),
    proto(""[Symbol.iterator]()),
    proto(new Map()[Symbol.iterator]()),
    proto(new Set()[Symbol.iterator]()),
    proto(/a/[Symbol.matchAll]("")),
    proto(generator),
    proto(generator.prototype),
    proto(asyncFunction),
    proto(asyncGenerator),
    proto(asyncGenerator.prototype),
    proto(new Intl.Segmenter().segment("")),
    proto(new Intl.Segmenter().segment("")[Symbol.iterator]()),
  ];
}

/**
 * The ways to make code from a string in this context (isolated-vm leaves
 * code generation from strings on), replaced by a function that throws:
 * whatwg-url uses none of them, and an object of this context that ever
 * escaped would otherwise lead to running code here (V8 refuses another
 * context's call of this one's Function constructor today: this does not
 * rest on that).
 */
function disableCodeGeneration(): void {
  const refuse = function (): never {
    throw new TypeError("code generation is disabled in the URL library");
  };
  const proto = Reflect.getPrototypeOf;
  const constructors = [proto(function () {}), proto(function* () {}), proto(async function () {}), proto(async function* () {})];
  for (const prototype of constructors) if (prototype !== null) Reflect.defineProperty(prototype, "constructor", { value: refuse });
  Reflect.defineProperty(globalThis, "Function", { value: refuse });
  Reflect.defineProperty(globalThis, "eval", { value: refuse });
}

/**
 * Freezes everything reachable from this context's global, from its hidden
 * builtins and from `roots` (the library), through properties, accessors
 * and prototypes, after taking RegExp's legacy statics off: should an
 * object of this context ever reach script code (url-parser.ts lets none
 * through), it could change nothing for a later parse nor read an earlier
 * one. Records made later are not frozen: whatwg-url fills them in as it
 * parses. About 3 ms of V8 work, once per isolate, between runs.
 */
function lockdown(roots: readonly object[]): void {
  for (const name of REGEXP_STATICS) Reflect.deleteProperty(RegExp, name);
  disableCodeGeneration();
  const seen = new Set<object>();
  const queue: unknown[] = [globalThis, ...hiddenIntrinsics(), ...roots];
  while (queue.length > 0) {
    const value = queue.pop();
    if (value === null || (typeof value !== "object" && typeof value !== "function") || seen.has(value)) continue;
    seen.add(value);
    for (const key of Reflect.ownKeys(value)) {
      const descriptor = Reflect.getOwnPropertyDescriptor(value, key);
      if (descriptor !== undefined) queue.push(descriptor.value, descriptor.get, descriptor.set);
    }
    queue.push(Reflect.getPrototypeOf(value));
  }
  for (const value of seen) Object.freeze(value);
}
