import { SwitchyardError } from "../errors.ts";

/**
 * What PostgreSQL can store faithfully. jsonb (and text) cannot hold U+0000, jsonb
 * refuses a lone surrogate escape (and a UTF-8 encoder would silently turn one into
 * U+FFFD), and JSON has no Infinity or NaN (`1e400` parses to Infinity). Input that
 * would be stored with any of these, or nested deeper than MAX_JSON_DEPTH, is refused
 * before anything is written, so a caller gets a 400 naming the place instead of a 500.
 */
export const MAX_JSON_DEPTH = 100;

export type StorableProblemCode = "unsupported_character" | "too_deep" | "unsupported_number";

export interface StorableProblem {
  code: StorableProblemCode;
  /** Where, as the keys and indexes from the root joined by "." ("" is the root itself). */
  path: string;
  message: string;
}

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, "g");

/**
 * Text made storable by marking, for what is read rather than processed (a
 * run's log lines and error messages): U+0000 becomes the six visible
 * characters `\u0000`, a lone surrogate becomes U+FFFD.
 */
export function storableText(text: string): string {
  return text.replaceAll("\u0000", "\\u0000").replace(LONE_SURROGATES, "\uFFFD");
}

/** U+0000 or a lone surrogate in a plain string (a script's source, a token's name), else null. */
export function findUnstorableText(text: string): StorableProblem | null {
  return characterProblem(text, "");
}

interface Frame {
  value: unknown;
  key: string | null;
  parent: Frame | null;
  depth: number;
}

/**
 * The first place in a JSON value that PostgreSQL could not store faithfully, or null.
 * Iterative (an explicit stack, no recursion), so a 10,000-deep value cannot overflow
 * the call stack; it stops at the first container deeper than `maxDepth`. Checks keys
 * and strings for U+0000 and lone surrogates, and numbers for Infinity and NaN.
 *
 * @example findUnstorable({ a: ["x\u0000"] }) // { code: "unsupported_character", path: "a.0", ... }
 */
export function findUnstorable(value: unknown, maxDepth: number = MAX_JSON_DEPTH): StorableProblem | null {
  const stack: Frame[] = [{ value, key: null, parent: null, depth: 0 }];
  for (let frame = stack.pop(); frame; frame = stack.pop()) {
    const problem = problemAt(frame, maxDepth, stack);
    if (problem) return problem;
  }
  return null;
}

function problemAt(frame: Frame, maxDepth: number, stack: Frame[]): StorableProblem | null {
  const { value } = frame;
  if (typeof value === "string") return characterProblem(value, pathOf(frame));
  if (typeof value === "number") {
    if (Number.isFinite(value)) return null;
    return { code: "unsupported_number", path: pathOf(frame), message: `${String(value)} is not a number JSON can represent` };
  }
  if (typeof value === "bigint") {
    return { code: "unsupported_number", path: pathOf(frame), message: "a BigInt is not a number JSON can represent" };
  }
  if (typeof value !== "object" || value === null) return null;
  const depth = frame.depth + 1;
  if (depth > maxDepth) {
    return { code: "too_deep", path: pathOf(frame), message: `JSON nested deeper than ${maxDepth} levels cannot be stored` };
  }
  // Pushed in reverse so the walk reports the first problem in document order.
  const entries = Array.isArray(value) ? value.map((item, index) => [String(index), item] as const) : Object.entries(value);
  for (let i = entries.length - 1; i >= 0; i--) {
    const [key, item] = entries[i]!;
    const child: Frame = { value: item, key, parent: frame, depth };
    if (!Array.isArray(value)) {
      const keyProblem = characterProblem(key, "", "key");
      if (keyProblem) return { ...keyProblem, path: pathOf(child) };
    }
    stack.push(child);
  }
  return null;
}

function characterProblem(text: string, path: string, what = "string"): StorableProblem | null {
  if (text.includes("\u0000")) {
    return { code: "unsupported_character", path, message: `a ${what} holds U+0000, which PostgreSQL cannot store` };
  }
  if (LONE_SURROGATE.test(text)) {
    return { code: "unsupported_character", path, message: `a ${what} holds a lone UTF-16 surrogate, which is not valid Unicode` };
  }
  return null;
}

/** Built only when there is a problem to report, so a clean walk allocates no path strings. */
function pathOf(frame: Frame): string {
  const keys: string[] = [];
  for (let f: Frame | null = frame; f && f.key !== null; f = f.parent) keys.push(f.key);
  return keys.reverse().join(".");
}

/** Caller input that PostgreSQL could not store faithfully; nothing was stored. The API answers 400. */
export class UnstorableInputError extends SwitchyardError {
  override name = "UnstorableInputError";
  constructor(problem: StorableProblem, prefix?: string) {
    const path = prefix === undefined ? problem.path : [prefix, problem.path].filter((p) => p !== "").join(".");
    super(problem.code, path === "" ? problem.message : `${path}: ${problem.message}`, { details: { path } });
  }
}

/** Throws UnstorableInputError for the first unstorable place in `value`; `prefix` names where the value sits. */
export function assertStorable(value: unknown, prefix?: string): void {
  const problem = findUnstorable(value);
  if (problem) throw new UnstorableInputError(problem, prefix);
}

/** Throws UnstorableInputError when a plain string holds U+0000 or a lone surrogate. */
export function assertStorableText(text: string, prefix?: string): void {
  const problem = findUnstorableText(text);
  if (problem) throw new UnstorableInputError(problem, prefix);
}
