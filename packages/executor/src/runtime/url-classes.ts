/**
 * `URL` and `URLSearchParams`, INSIDE the isolate: our own classes (the URL
 * Standard's API, shaped as Web IDL says: enumerable accessors and methods,
 * brand checks, USVString conversions) over whatwg-url's parser and
 * serializers (`url-state-machine`, `urlencoded`: the Standard's reference
 * implementation, checked against the WPT vectors in test/fixtures/wpt).
 *
 * Why not whatwg-url's own classes: they are generated Web IDL wrappers, and
 * evaluating them (with webidl-conversions) cost a fresh context ~250 µs of
 * its ~350 µs to load whatwg-url; these classes do what those wrappers do,
 * with private fields as brands.
 *
 * Evaluated on first use only (url.ts): a context that never touches a URL
 * pays for none of it. The parsing itself is done by the isolate's URL
 * library, in a context of its own (url-parser.ts): URL records are whatwg-url's
 * objects of that context, and never leave this file's private fields.
 */
import { urlParser, type UrlRecord } from "./url-parser.ts";

const usm = urlParser();
const { parseUrlencodedString, serializeUrlencoded } = usm;

type Pair = [string, string];

/** Web IDL's USVString: String(), lone surrogates replaced by U+FFFD; a Symbol is a TypeError. */
function usv(value: unknown, what: string): string {
  if (typeof value === "symbol") throw new TypeError(`${what}: a Symbol cannot be converted to a string`);
  const text: unknown = (String(value) as string & { toWellFormed(): string }).toWellFormed();
  // String and toWellFormed are the script's to replace: whatever they answer, only a string goes on (url-parser.ts checks again).
  if (typeof text !== "string") throw new TypeError(`${what}: the value did not convert to a string`);
  return text;
}

function requireArgs(count: number, needed: number, what: string): void {
  if (count < needed) throw new TypeError(`${what}: ${needed} argument${needed === 1 ? "" : "s"} required, but only ${count} present.`);
}

const parse = (input: string, base?: UrlRecord | null): UrlRecord | null => {
  const record = usm.parse(input, base ?? null);
  return record === null || typeof record !== "object" ? null : record;
};

const isObject = (value: unknown): value is object => value !== null && (typeof value === "object" || typeof value === "function");

/** Parses `url` against `base` (both already strings); null when either fails. */
function parseWithBase(url: string, base: string | undefined): { record: UrlRecord | null; badBase: boolean } {
  if (base === undefined) return { record: parse(url), badBase: false };
  const parsedBase = parse(base);
  if (parsedBase === null) return { record: null, badBase: true };
  return { record: parse(url, parsedBase), badBase: false };
}

// Set by the classes' static blocks: each one's internals for the other, never on a class.
let paramsOfUrl: (url: URL, query: string) => URLSearchParams;
let setParamsList: (params: URLSearchParams, list: Pair[]) => void;
let listOf: (params: URLSearchParams) => readonly Pair[];
let updateQuery: (url: URL, list: readonly Pair[]) => void;

/** The URL Standard's `URL`; see the file comment. */
export class URL {
  #url: UrlRecord;
  /**
   * The URL's query object, made on first use of `searchParams`: until then
   * nothing can observe it, and most URLs (a fetch's, a parse) never need
   * one. Made from the query as it is then; kept in step after.
   */
  #query: URLSearchParams | null = null;

  static {
    // URLSearchParams' update steps: its list serialized into this URL's query.
    updateQuery = (url, list) => {
      const serialized = serializeUrlencoded(list);
      url.#url.query = serialized === "" ? null : serialized;
    };
  }

  constructor(url: string, base?: string) {
    requireArgs(arguments.length, 1, "Failed to construct 'URL'");
    const input = usv(url, "Failed to construct 'URL'");
    const baseText = base === undefined ? undefined : usv(base, "Failed to construct 'URL'");
    const { record, badBase } = parseWithBase(input, baseText);
    if (badBase) throw new TypeError(`Invalid base URL: ${baseText}`);
    if (record === null) throw new TypeError(`Invalid URL: ${input}`);
    this.#url = record;
  }

  static parse(url: string, base?: string): URL | null {
    requireArgs(arguments.length, 1, "Failed to execute 'parse' on 'URL'");
    // Conversion errors (a Symbol) throw, as Web IDL says; only a failed parse answers null.
    const input = usv(url, "Failed to execute 'parse' on 'URL'");
    const baseText = base === undefined ? undefined : usv(base, "Failed to execute 'parse' on 'URL'");
    try {
      return baseText === undefined ? new URL(input) : new URL(input, baseText);
    } catch {
      return null;
    }
  }

  static canParse(url: string, base?: string): boolean {
    requireArgs(arguments.length, 1, "Failed to execute 'canParse' on 'URL'");
    const input = usv(url, "Failed to execute 'canParse' on 'URL'");
    const baseText = base === undefined ? undefined : usv(base, "Failed to execute 'canParse' on 'URL'");
    return parseWithBase(input, baseText).record !== null;
  }

  /**
   * The record, after the brand check every member makes. A setter checks
   * first, converts its value (which may run script code, even set `href`),
   * and only then reads the record it works on, as Web IDL orders it.
   */
  static #record(self: URL, member: string): UrlRecord {
    if (!isObject(self) || !(#url in self)) throw new TypeError(`'${member}' called on an object that is not a valid instance of URL.`);
    return self.#url;
  }

  get href(): string {
    return usm.serializeURL(URL.#record(this, "get href"));
  }

  set href(value: string) {
    URL.#record(this, "set href");
    const input = usv(value, "Failed to set the 'href' property on 'URL'");
    const parsed = parse(input);
    if (parsed === null) throw new TypeError(`Invalid URL: ${input}`);
    this.#url = parsed;
    if (this.#query !== null) setParamsList(this.#query, parsed.query === null ? [] : parseUrlencodedString(parsed.query));
  }

  get origin(): string {
    return usm.serializeURLOrigin(URL.#record(this, "get origin"));
  }

  get protocol(): string {
    return `${URL.#record(this, "get protocol").scheme}:`;
  }

  set protocol(value: string) {
    URL.#record(this, "set protocol");
    const text = usv(value, "Failed to set the 'protocol' property on 'URL'");
    usm.override(`${text}:`, this.#url, "scheme start");
  }

  get username(): string {
    return URL.#record(this, "get username").username;
  }

  set username(value: string) {
    URL.#record(this, "set username");
    const text = usv(value, "Failed to set the 'username' property on 'URL'");
    const url = this.#url;
    if (!usm.cannotHaveAUsernamePasswordPort(url)) usm.setTheUsername(url, text);
  }

  get password(): string {
    return URL.#record(this, "get password").password;
  }

  set password(value: string) {
    URL.#record(this, "set password");
    const text = usv(value, "Failed to set the 'password' property on 'URL'");
    const url = this.#url;
    if (!usm.cannotHaveAUsernamePasswordPort(url)) usm.setThePassword(url, text);
  }

  get host(): string {
    const url = URL.#record(this, "get host");
    if (url.host === null) return "";
    const host = usm.serializeHost(url.host);
    return url.port === null ? host : `${host}:${usm.serializeInteger(url.port)}`;
  }

  set host(value: string) {
    URL.#record(this, "set host");
    const text = usv(value, "Failed to set the 'host' property on 'URL'");
    const url = this.#url;
    if (!usm.hasAnOpaquePath(url)) usm.override(text, url, "host");
  }

  get hostname(): string {
    const url = URL.#record(this, "get hostname");
    return url.host === null ? "" : usm.serializeHost(url.host);
  }

  set hostname(value: string) {
    URL.#record(this, "set hostname");
    const text = usv(value, "Failed to set the 'hostname' property on 'URL'");
    const url = this.#url;
    if (!usm.hasAnOpaquePath(url)) usm.override(text, url, "hostname");
  }

  get port(): string {
    const url = URL.#record(this, "get port");
    return url.port === null ? "" : usm.serializeInteger(url.port);
  }

  set port(value: string) {
    URL.#record(this, "set port");
    const text = usv(value, "Failed to set the 'port' property on 'URL'");
    const url = this.#url;
    if (usm.cannotHaveAUsernamePasswordPort(url)) return;
    if (text === "") url.port = null;
    else usm.override(text, url, "port");
  }

  get pathname(): string {
    return usm.serializePath(URL.#record(this, "get pathname"));
  }

  set pathname(value: string) {
    URL.#record(this, "set pathname");
    const text = usv(value, "Failed to set the 'pathname' property on 'URL'");
    const url = this.#url;
    if (usm.hasAnOpaquePath(url)) return;
    usm.emptyPath(url);
    usm.override(text, url, "path start");
  }

  get search(): string {
    const { query } = URL.#record(this, "get search");
    return query === null || query === "" ? "" : `?${query}`;
  }

  set search(value: string) {
    URL.#record(this, "set search");
    const text = usv(value, "Failed to set the 'search' property on 'URL'");
    const url = this.#url;
    if (text === "") {
      url.query = null;
      if (this.#query !== null) setParamsList(this.#query, []);
      return;
    }
    const input = text[0] === "?" ? text.slice(1) : text;
    url.query = "";
    usm.override(input, url, "query");
    if (this.#query !== null) setParamsList(this.#query, parseUrlencodedString(input));
    // The Standard takes the list from the input: when it holds a tab or a
    // newline, which the stored query lost, the query object is made now.
    else if (/[\t\n\r]/.test(input)) this.#query = paramsOfUrl(this, input);
  }

  get searchParams(): URLSearchParams {
    URL.#record(this, "get searchParams");
    this.#query ??= paramsOfUrl(this, this.#url.query ?? "");
    return this.#query;
  }

  get hash(): string {
    const { fragment } = URL.#record(this, "get hash");
    return fragment === null || fragment === "" ? "" : `#${fragment}`;
  }

  set hash(value: string) {
    URL.#record(this, "set hash");
    const text = usv(value, "Failed to set the 'hash' property on 'URL'");
    const url = this.#url;
    if (text === "") {
      url.fragment = null;
      return;
    }
    url.fragment = "";
    usm.override(text[0] === "#" ? text.slice(1) : text, url, "fragment");
  }

  toString(): string {
    return usm.serializeURL(URL.#record(this, "toString"));
  }

  toJSON(): string {
    return usm.serializeURL(URL.#record(this, "toJSON"));
  }
}

type IteratorKind = "key" | "value" | "key+value";

/** The Standard's `URLSearchParams`; see the file comment. */
export class URLSearchParams {
  #list: Pair[] = [];
  /** The URL whose query this object is, or null for one made on its own. */
  #url: URL | null = null;

  static {
    paramsOfUrl = (url, query) => {
      const params = new URLSearchParams();
      params.#list = parseUrlencodedString(query);
      params.#url = url;
      return params;
    };
    setParamsList = (params, list) => {
      params.#list = list;
    };
    listOf = (params) => params.#list;
  }

  constructor(init: unknown = "") {
    const what = "Failed to construct 'URLSearchParams'";
    if (init !== null && (typeof init === "object" || typeof init === "function")) {
      const object = init as Record<PropertyKey, unknown>;
      // Read once, as Web IDL's union conversion does; null is no iterator.
      const iterator = object[Symbol.iterator];
      if (iterator !== undefined && iterator !== null) {
        for (const pair of { [Symbol.iterator]: () => Reflect.apply(iterator as () => Iterator<unknown>, object, []) }) {
          if (pair === null || (typeof pair !== "object" && typeof pair !== "function")) throw new TypeError(`${what}: parameter 1 sequence's element is not an iterable object.`);
          const strings = Array.from(pair as Iterable<unknown>, (v) => usv(v, what));
          if (strings.length !== 2) throw new TypeError(`${what}: parameter 1 sequence's element does not contain exactly two elements.`);
          this.#list.push(strings as Pair);
        }
        return;
      }
      // A record: own enumerable keys; a later duplicate (after conversion) replaces the earlier value in place.
      const record = new Map<string, string>();
      for (const key of Reflect.ownKeys(object)) {
        const descriptor = Reflect.getOwnPropertyDescriptor(object, key);
        if (descriptor?.enumerable) record.set(usv(key, what), usv(object[key], what));
      }
      for (const pair of record) this.#list.push(pair);
      return;
    }
    const text = usv(init, what);
    this.#list = parseUrlencodedString(text[0] === "?" ? text.slice(1) : text);
  }

  static #checked(self: URLSearchParams, member: string): Pair[] {
    if (!isObject(self) || !(#list in self)) throw new TypeError(`'${member}' called on an object that is not a valid instance of URLSearchParams.`);
    return self.#list;
  }

  #update(): void {
    if (this.#url !== null) updateQuery(this.#url, this.#list);
  }

  get size(): number {
    return URLSearchParams.#checked(this, "get size").length;
  }

  append(name: string, value: string): void {
    const list = URLSearchParams.#checked(this, "append");
    requireArgs(arguments.length, 2, "Failed to execute 'append' on 'URLSearchParams'");
    list.push([usv(name, "append"), usv(value, "append")]);
    this.#update();
  }

  delete(name: string, value?: string): void {
    URLSearchParams.#checked(this, "delete");
    requireArgs(arguments.length, 1, "Failed to execute 'delete' on 'URLSearchParams'");
    const key = usv(name, "delete");
    const only = value === undefined ? undefined : usv(value, "delete");
    this.#list = this.#list.filter(([n, v]) => !(n === key && (only === undefined || v === only)));
    this.#update();
  }

  get(name: string): string | null {
    const list = URLSearchParams.#checked(this, "get");
    requireArgs(arguments.length, 1, "Failed to execute 'get' on 'URLSearchParams'");
    const key = usv(name, "get");
    for (const [n, v] of list) if (n === key) return v;
    return null;
  }

  getAll(name: string): string[] {
    const list = URLSearchParams.#checked(this, "getAll");
    requireArgs(arguments.length, 1, "Failed to execute 'getAll' on 'URLSearchParams'");
    const key = usv(name, "getAll");
    return list.filter(([n]) => n === key).map(([, v]) => v);
  }

  has(name: string, value?: string): boolean {
    const list = URLSearchParams.#checked(this, "has");
    requireArgs(arguments.length, 1, "Failed to execute 'has' on 'URLSearchParams'");
    const key = usv(name, "has");
    const only = value === undefined ? undefined : usv(value, "has");
    return list.some(([n, v]) => n === key && (only === undefined || v === only));
  }

  set(name: string, value: string): void {
    URLSearchParams.#checked(this, "set");
    requireArgs(arguments.length, 2, "Failed to execute 'set' on 'URLSearchParams'");
    const key = usv(name, "set");
    const text = usv(value, "set");
    const at = this.#list.findIndex(([n]) => n === key);
    if (at === -1) this.#list.push([key, text]);
    else this.#list = this.#list.filter(([n], i) => i === at || n !== key).map((pair, i) => (i === at ? [key, text] : pair));
    this.#update();
  }

  sort(): void {
    // Stable, by code units, as the Standard says (Array.prototype.sort is stable).
    URLSearchParams.#checked(this, "sort").sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.#update();
  }

  toString(): string {
    return serializeUrlencoded(URLSearchParams.#checked(this, "toString"));
  }

  forEach(callback: (value: string, key: string, parent: URLSearchParams) => void, thisArg?: unknown): void {
    URLSearchParams.#checked(this, "forEach");
    requireArgs(arguments.length, 1, "Failed to execute 'forEach' on 'URLSearchParams'");
    if (typeof callback !== "function") throw new TypeError("Failed to execute 'forEach' on 'URLSearchParams': The callback provided as parameter 1 is not a function.");
    // Live, as Web IDL's iterable: a callback that edits the list sees its edits.
    for (let i = 0; i < this.#list.length; i++) {
      const [key, value] = this.#list[i] as Pair;
      callback.call(thisArg, value, key, this);
    }
  }

  keys(): IterableIterator<string> {
    URLSearchParams.#checked(this, "keys");
    return new ParamsIterator(this, "key") as unknown as IterableIterator<string>;
  }

  values(): IterableIterator<string> {
    URLSearchParams.#checked(this, "values");
    return new ParamsIterator(this, "value") as unknown as IterableIterator<string>;
  }

  entries(): IterableIterator<Pair> {
    URLSearchParams.#checked(this, "entries");
    return new ParamsIterator(this, "key+value") as unknown as IterableIterator<Pair>;
  }

  declare [Symbol.iterator]: () => IterableIterator<Pair>;
}

const iteratorPrototype: object = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));

/** The Standard's iterator: live over the list, by index. */
class ParamsIterator {
  readonly #params: URLSearchParams;
  readonly #kind: IteratorKind;
  #index = 0;

  constructor(params: URLSearchParams, kind: IteratorKind) {
    this.#params = params;
    this.#kind = kind;
  }

  next(): IteratorResult<string | Pair> {
    if (!isObject(this) || !(#params in this)) throw new TypeError("next() called on a value that is not a URLSearchParams iterator object");
    // Read live: a URL setter may have replaced the list since the last step.
    const list = listOf(this.#params);
    if (this.#index >= list.length) return { value: undefined, done: true };
    const [key, value] = list[this.#index++] as Pair;
    return { value: this.#kind === "key" ? key : this.#kind === "value" ? value : [key, value], done: false };
  }
}
Object.setPrototypeOf(ParamsIterator.prototype, iteratorPrototype);

// Web IDL's shape: operations and attributes enumerable, a toStringTag, entries as the iterator.
function idlShape(target: { prototype: object }, tag: string): void {
  const proto = target.prototype;
  for (const key of Reflect.ownKeys(proto)) {
    if (key === "constructor" || typeof key === "symbol") continue;
    Reflect.defineProperty(proto, key, { enumerable: true });
  }
  Reflect.defineProperty(proto, Symbol.toStringTag, { value: tag, configurable: true });
}
idlShape(URL, "URL");
idlShape(URLSearchParams, "URLSearchParams");
Reflect.defineProperty(URLSearchParams.prototype, Symbol.iterator, { value: URLSearchParams.prototype.entries, configurable: true, writable: true });
Reflect.defineProperty(ParamsIterator.prototype, Symbol.toStringTag, { value: "URLSearchParams Iterator", configurable: true });
// As in browsers, the iterator's prototype has no constructor of its own: the class stays unreachable.
Reflect.deleteProperty(ParamsIterator.prototype, "constructor");
