/**
 * `Headers` (the Fetch Standard's header list), INSIDE the isolate. A
 * response's headers are immutable; no header name is forbidden (a script
 * talks to APIs, not to a browser's origin).
 */

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

interface HeadersState {
  list: Array<[string, string]>;
  immutable: boolean;
}

const states = new WeakMap<object, HeadersState>();

function stateOf(headers: unknown): HeadersState {
  const state = states.get(headers as object);
  if (!state) throw new TypeError("Illegal invocation: not a Headers");
  return state;
}

function checkName(name: unknown): string {
  const text = String(name);
  if (!TOKEN.test(text)) throw new TypeError(`Headers: invalid header name ${JSON.stringify(text)}`);
  return text.toLowerCase();
}

function checkValue(value: unknown): string {
  const text = String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
  if (/[\0\r\n]/.test(text)) throw new TypeError("Headers: invalid header value");
  return text;
}

function writable(headers: unknown): HeadersState {
  const state = stateOf(headers);
  if (state.immutable) throw new TypeError("Headers: these headers are immutable");
  return state;
}

/** What `new Headers(init)` takes. */
export type HeadersInit = Headers | Array<[string, string]> | Record<string, string>;

/** An HTTP header list. */
export class Headers {
  constructor(init?: HeadersInit | null) {
    states.set(this, { list: [], immutable: false });
    if (init === undefined || init === null) return;
    if (init instanceof Headers) {
      for (const [name, value] of stateOf(init).list) this.append(name, value);
      return;
    }
    if (typeof init !== "object") throw new TypeError("Headers: init must be an object or a sequence of pairs");
    const iterator = (init as { [Symbol.iterator]?: unknown })[Symbol.iterator];
    if (typeof iterator === "function") {
      for (const pair of init as Iterable<unknown>) {
        const entry = [...(pair as Iterable<unknown>)];
        if (entry.length !== 2) throw new TypeError("Headers: each header must be a [name, value] pair");
        this.append(entry[0] as string, entry[1] as string);
      }
      return;
    }
    for (const name of Object.keys(init)) this.append(name, (init as Record<string, string>)[name] as string);
  }

  append(name: unknown, value: unknown): void {
    const state = writable(this);
    state.list.push([checkName(name), checkValue(value)]);
  }
  delete(name: unknown): void {
    const state = writable(this);
    const key = checkName(name);
    state.list = state.list.filter(([n]) => n !== key);
  }
  get(name: unknown): string | null {
    const key = checkName(name);
    const values = stateOf(this)
      .list.filter(([n]) => n === key)
      .map(([, v]) => v);
    return values.length === 0 ? null : values.join(", ");
  }
  getSetCookie(): string[] {
    return stateOf(this)
      .list.filter(([n]) => n === "set-cookie")
      .map(([, v]) => v);
  }
  has(name: unknown): boolean {
    const key = checkName(name);
    return stateOf(this).list.some(([n]) => n === key);
  }
  set(name: unknown, value: unknown): void {
    const state = writable(this);
    const key = checkName(name);
    const text = checkValue(value);
    const at = state.list.findIndex(([n]) => n === key);
    if (at < 0) {
      state.list.push([key, text]);
      return;
    }
    state.list[at] = [key, text];
    state.list = state.list.filter(([n], i) => n !== key || i === at);
  }
  forEach(callback: (value: string, name: string, headers: Headers) => void, thisArg?: unknown): void {
    for (const [name, value] of this) callback.call(thisArg, value, name, this);
  }
  *entries(): IterableIterator<[string, string]> {
    const state = stateOf(this);
    const names = [...new Set(state.list.map(([n]) => n))].sort();
    for (const name of names) {
      if (name === "set-cookie") {
        for (const value of this.getSetCookie()) yield [name, value];
      } else {
        yield [name, this.get(name) as string];
      }
    }
  }
  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }
  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

/** The header list as pairs, in order (for the host). */
export function headerList(headers: Headers): Array<[string, string]> {
  return stateOf(headers).list.map(([n, v]) => [n, v]);
}

/** Headers that the script may no longer change (a response's). */
export function immutableHeaders(list: Iterable<[string, string]>): Headers {
  const headers = new Headers();
  const state = stateOf(headers);
  for (const [name, value] of list) state.list.push([String(name).toLowerCase(), String(value)]);
  state.immutable = true;
  return headers;
}

/** A copy that may be changed again. */
export function copyHeaders(headers: Headers): Headers {
  return new Headers(headers);
}
