/**
 * `console`-style text of values, for the SDK's `console` INSIDE the isolate
 * (bundled into the bootstrap by `sdk-source.ts`; same rules as
 * `sdk-runtime.ts`: standard builtins only). Strings print raw at the top
 * level and JSON-quoted inside objects, so a secret's JSON-escaped form is
 * what masking looks for.
 */

// Captured when the bootstrap loads, before any script code runs: a script
// that replaces them later changes only what its own code sees.
const jsonStringify = JSON.stringify;
const objectKeys = Object.keys;
const isArray = Array.isArray;
const stringOf = String;
const ErrorCtor = Error;

const MAX_DEPTH = 3;
const MAX_ITEMS = 100;

/**
 * One value as console would print it; never throws.
 *
 * @example
 * formatValue({ a: [1, "two"] }); // '{ a: [ 1, "two" ] }'
 */
export function formatValue(value: unknown): string {
  return show(value, 0, [], true);
}

function show(value: unknown, depth: number, seen: unknown[], top: boolean): string {
  try {
    switch (typeof value) {
      case "string":
        return top ? value : jsonStringify(value);
      case "number":
        return Object.is(value, -0) ? "-0" : stringOf(value);
      case "boolean":
      case "undefined":
        return stringOf(value);
      case "bigint":
        return stringOf(value) + "n";
      case "symbol":
        return value.toString();
      case "function":
        return "[Function: " + (value.name || "(anonymous)") + "]";
    }
    if (value === null) return "null";
    const object = value as object;
    if (seen.includes(object)) return "[Circular]";
    if (object instanceof ErrorCtor) {
      const stack = (object as Error).stack;
      if (top && typeof stack === "string") return stack;
      return "[" + stringOf((object as Error).name) + ": " + stringOf((object as Error).message) + "]";
    }
    if (object instanceof Date) return isNaN(object.getTime()) ? "Invalid Date" : object.toISOString();
    if (object instanceof RegExp) return stringOf(object);
    const isList = isArray(object);
    if (depth >= MAX_DEPTH) return isList ? "[Array]" : "[Object]";
    seen.push(object);
    try {
      const parts: string[] = [];
      if (isList) {
        const list = object as unknown[];
        for (let i = 0; i < list.length && i < MAX_ITEMS; i++) parts.push(show(list[i], depth + 1, seen, false));
        return bracket("[", parts, list.length, "]", "");
      }
      if (object instanceof Map) {
        for (const [k, v] of object) {
          if (parts.length === MAX_ITEMS) break;
          parts.push(show(k, depth + 1, seen, false) + " => " + show(v, depth + 1, seen, false));
        }
        return bracket("{", parts, object.size, "}", "Map(" + object.size + ") ");
      }
      if (object instanceof Set) {
        for (const v of object) {
          if (parts.length === MAX_ITEMS) break;
          parts.push(show(v, depth + 1, seen, false));
        }
        return bracket("{", parts, object.size, "}", "Set(" + object.size + ") ");
      }
      const keys = objectKeys(object);
      for (let i = 0; i < keys.length && i < MAX_ITEMS; i++) {
        const key = keys[i] as string;
        const label = /^[A-Za-z_$][\w$]*$/.test(key) ? key : jsonStringify(key);
        parts.push(label + ": " + show((object as Record<string, unknown>)[key], depth + 1, seen, false));
      }
      return bracket("{", parts, keys.length, "}", "");
    } finally {
      seen.pop();
    }
  } catch {
    return "[unprintable]";
  }
}

/** `parts` are the first of `total` entries; the rest are counted, not shown. */
function bracket(open: string, parts: string[], total: number, close: string, prefix: string): string {
  if (total === 0) return prefix + open + close;
  if (total > parts.length) parts.push("... " + (total - parts.length) + " more");
  return prefix + open + " " + parts.join(", ") + " " + close;
}
