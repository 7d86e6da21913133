/**
 * `structuredClone` (HTML's structured serialization, within one realm),
 * INSIDE the isolate: primitives and their wrappers, Date, RegExp,
 * ArrayBuffer, typed arrays, DataView, Map, Set, arrays, plain objects,
 * errors and Blobs, with shared references and cycles kept. Functions,
 * symbols and other platform objects throw `DataCloneError`.
 */
import { Blob } from "./blob.ts";
import { DOMException } from "./dom-exception.ts";

const ERROR_TYPES: Record<string, ErrorConstructor> = {
  Error,
  EvalError,
  RangeError,
  ReferenceError,
  SyntaxError,
  TypeError,
  URIError,
};

type TypedArrayCtor = new (buffer: ArrayBuffer, byteOffset: number, length: number) => ArrayBufferView;

/** A deep copy of `value`; see the file comment. */
export function structuredClone(value: unknown, options?: { transfer?: unknown[] }): unknown {
  if (arguments.length === 0) throw new TypeError("structuredClone: 1 argument required");
  if (options?.transfer !== undefined && options.transfer.length > 0) {
    throw new DOMException("structuredClone: transferring is not supported", "DataCloneError");
  }
  return cloneValue(value, new Map());
}

function cloneValue(value: unknown, memory: Map<object, unknown>): unknown {
  if (typeof value === "symbol") throw new DOMException(`${String(value)} could not be cloned`, "DataCloneError");
  if (typeof value === "function") throw new DOMException("a function could not be cloned", "DataCloneError");
  if (value === null || typeof value !== "object") return value;
  const seen = memory.get(value);
  if (seen !== undefined) return seen;
  const remember = <T>(copy: T): T => {
    memory.set(value, copy);
    return copy;
  };
  if (value instanceof Boolean) return remember(new Boolean(value.valueOf()));
  if (value instanceof Number) return remember(new Number(value.valueOf()));
  if (value instanceof String) return remember(new String(value.valueOf()));
  if (typeof BigInt !== "undefined" && value instanceof BigInt) return remember(Object(value.valueOf()));
  if (value instanceof Date) return remember(new Date(value.getTime()));
  if (value instanceof RegExp) return remember(new RegExp(value.source, value.flags));
  if (value instanceof ArrayBuffer) return remember(value.slice(0));
  if (ArrayBuffer.isView(value)) {
    const buffer = cloneValue(value.buffer, memory) as ArrayBuffer;
    if (value instanceof DataView) return remember(new DataView(buffer, value.byteOffset, value.byteLength));
    const Ctor = value.constructor as TypedArrayCtor;
    const length = (value as unknown as { length: number }).length;
    return remember(new Ctor(buffer, value.byteOffset, length));
  }
  if (value instanceof Map) {
    const copy = remember(new Map());
    for (const [k, v] of value) copy.set(cloneValue(k, memory), cloneValue(v, memory));
    return copy;
  }
  if (value instanceof Set) {
    const copy = remember(new Set());
    for (const v of value) copy.add(cloneValue(v, memory));
    return copy;
  }
  if (value instanceof Blob) return remember(value.slice(0, value.size, value.type));
  if (value instanceof Error) {
    const name = String(value.name);
    const Ctor = ERROR_TYPES[name] ?? Error;
    const copy = remember(new Ctor(String(value.message)));
    const stack = value.stack;
    if (typeof stack === "string") Object.defineProperty(copy, "stack", { value: stack, writable: true, configurable: true });
    if ("cause" in value) Object.defineProperty(copy, "cause", { value: cloneValue(value.cause, memory), writable: true, configurable: true });
    return copy;
  }
  if (Array.isArray(value)) {
    const copy = remember(new Array(value.length));
    for (const key of Object.keys(value)) (copy as unknown as Record<string, unknown>)[key] = cloneValue((value as unknown as Record<string, unknown>)[key], memory);
    return copy;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    // Class instances, promises, weak maps, proxies of platform objects:
    // HTML clones only ordinary objects; a class instance becomes a plain object.
    if (isPlatformObject(value)) throw new DOMException(`${describe(value)} could not be cloned`, "DataCloneError");
  }
  const copy = remember({} as Record<string, unknown>);
  for (const key of Object.keys(value)) copy[key] = cloneValue((value as Record<string, unknown>)[key], memory);
  return copy;
}

function isPlatformObject(value: object): boolean {
  return value instanceof Promise || value instanceof WeakMap || value instanceof WeakSet || (typeof WeakRef !== "undefined" && value instanceof WeakRef);
}

function describe(value: object): string {
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === "string" && name !== "" ? `#<${name}>` : "the object";
}
