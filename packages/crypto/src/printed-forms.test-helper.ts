import { format, inspect } from "node:util";

/**
 * Every way a value commonly ends up in a log line or a response, for tests
 * that prove key material never does.
 */
export function printedForms(value: unknown): string[] {
  return [
    inspect(value),
    inspect(value, { showHidden: true, depth: Infinity }),
    inspect(value, { customInspect: false, showHidden: true, depth: Infinity }),
    inspect({ nested: { value } }, { depth: Infinity }),
    format("%o %O %s %j", value, value, value, value),
    JSON.stringify(value),
    JSON.stringify({ nested: value }),
    String(value),
  ];
}
