/**
 * Masks the secret values a run has read wherever the run's output is stored:
 * log lines, the error's name, message and stack, and the result. A value is
 * replaced by `[secret:NAME]` in each form a script is likely to print it in.
 * An object or array secret is masked whole and leaf by leaf: a script that
 * logs it with console.log (not as JSON) or returns one of its fields prints
 * the leaves, never the JSON text.
 */

/** A secret value a run has read, by name. */
export interface SecretRead {
  name: string;
  value: unknown;
}

/**
 * Values shorter than this are not masked. A 1–3 character secret ("on",
 * "42") would match inside ordinary words and numbers all over a log and
 * shred it, while hiding almost nothing: so few characters can be guessed.
 */
export const MIN_MASKED_LENGTH = 4;

/**
 * A number leaf of an object or array secret is masked from this many digits:
 * a PIN or an account number, not the `port: 5432` or `retries: 3` beside it.
 */
export const MIN_MASKED_NUMBER_DIGITS = 6;

/** Where a secret form was found in a text, and the mask that replaces it. */
export interface SecretMatch {
  index: number;
  length: number;
  mask: string;
}

export interface Redactor {
  /** True when there is nothing to mask. */
  readonly empty: boolean;
  /** `text` with every known form of every secret masked. */
  text(text: string): string;
  /**
   * The forms of secrets found in `text`, left to right, as `text()` would
   * mask them; with `ignoreCase`, matched whatever the case (a host name,
   * which the URL parser lowercases). For masking more than the form itself,
   * e.g. the whole URL path segment it sits in.
   */
  find(text: string, options?: { ignoreCase?: boolean }): SecretMatch[];
  /** A JSON value with its strings, keys and secret-equal subtrees masked. */
  value(value: unknown): unknown;
  /**
   * Drops a trailing partial secret form from text that was cut short, e.g.
   * "key=sk_li" when "sk_live_…" is a secret. Only for text cut at an
   * arbitrary point: whole text needs `text()` alone.
   */
  trimPartial(text: string): string;
}

/**
 * The forms of one secret value that are masked. For a string: the value, its
 * JSON-escaped text (as it appears inside printed JSON), its base64 (standard
 * with and without padding, and url-safe) and its URL-encoded forms
 * (`encodeURIComponent` and form encoding). For any other JSON value: the same
 * forms of its JSON text. Booleans and null carry no secret worth hiding and
 * masking every `true` would garble output, so they have no forms.
 *
 * @example
 * secretForms("p@ss word");
 * // ["p@ss word", "cEBzcyB3b3Jk", "p%40ss%20word", "p%40ss+word", ...]
 */
export function secretForms(value: unknown): string[] {
  if (value === null || value === undefined || typeof value === "boolean") return [];
  const text = typeof value === "string" ? value : JSON.stringify(value);
  if (typeof text !== "string" || text.length < MIN_MASKED_LENGTH) return [];
  const bytes = Buffer.from(text, "utf8");
  const base64 = bytes.toString("base64");
  const forms = new Set([
    text,
    JSON.stringify(text).slice(1, -1),
    base64,
    base64.replace(/=+$/, ""),
    bytes.toString("base64url"),
    encodeURIComponent(text),
    new URLSearchParams([["", text]]).toString().slice(1),
  ]);
  return [...forms].filter((form) => form.length >= MIN_MASKED_LENGTH);
}

/**
 * How deep `value()` masks a result. A result nested deeper cannot be stored
 * (Switchyard stores JSON up to 100 levels; the run ends as
 * `result_not_storable`), so what lies below is replaced by TOO_DEEP rather
 * than walked: walking it would overflow the stack (masking recurses, and
 * JSON.stringify overflows near 4,000 levels) and lose the run's record.
 */
export const MAX_REDACTED_DEPTH = 256;
const TOO_DEEP = "[nested too deep to mask]";

/**
 * The leaves of an object or array secret worth masking on their own: every
 * string of MIN_MASKED_LENGTH or more characters and every number of
 * MIN_MASKED_NUMBER_DIGITS or more digits, at any depth. Iterative, so no
 * nesting can overflow the stack.
 *
 * @example
 * secretLeaves({ user: "admin", password: "hunter2-pass-word", port: 5432, pin: 12345678 });
 * // ["admin", "hunter2-pass-word", 12345678]
 */
export function secretLeaves(value: unknown): (string | number)[] {
  const leaves: (string | number)[] = [];
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === "string") {
      if (item.length >= MIN_MASKED_LENGTH) leaves.push(item);
    } else if (typeof item === "number") {
      if ((String(item).match(/\d/g)?.length ?? 0) >= MIN_MASKED_NUMBER_DIGITS) leaves.push(item);
    } else if (item !== null && typeof item === "object") {
      // Reversed onto the stack, so leaves come out in document order.
      stack.push(...Object.values(item).reverse());
    }
  }
  return leaves;
}

/**
 * A redactor for `secrets`. Longer forms win over shorter ones that they
 * contain, and masking is one pass, so a mask is never masked again.
 *
 * @example
 * const redact = createRedactor([{ name: "API_KEY", value: "sk_live_123" }]);
 * redact.text("Authorization: Bearer sk_live_123"); // "Authorization: Bearer [secret:API_KEY]"
 */
export function createRedactor(secrets: Iterable<SecretRead>): Redactor {
  const maskOf = new Map<string, string>();
  // JSON text of non-string secrets, to mask a result subtree equal to one.
  const subtreeMask = new Map<string, string>();
  // Only a subtree no deeper than the deepest such secret can equal one.
  let subtreeDepth = 0;
  for (const { name, value } of secrets) {
    const mask = `[secret:${name}]`;
    for (const form of secretForms(value)) if (!maskOf.has(form)) maskOf.set(form, mask);
    if (value !== null && typeof value === "object") {
      const json = JSON.stringify(value);
      if (json.length >= MIN_MASKED_LENGTH && !subtreeMask.has(json)) subtreeMask.set(json, mask);
      subtreeDepth = Math.max(subtreeDepth, depthOf(value));
      for (const leaf of secretLeaves(value)) for (const form of secretForms(leaf)) if (!maskOf.has(form)) maskOf.set(form, mask);
    }
  }
  if (maskOf.size === 0) return IDENTITY;

  const forms = [...maskOf.keys()].sort((a, b) => b.length - a.length);
  // Alternation tries alternatives in order, so longest-first makes each
  // position take the longest form that matches there.
  const pattern = new RegExp(forms.map(escapeRegExp).join("|"), "g");
  const text = (input: string): string => input.replace(pattern, (found) => maskOf.get(found) ?? found);
  // Built on first use: only URL hosts are matched without regard to case.
  let caseless: { pattern: RegExp; maskOf: Map<string, string> } | null = null;
  const find = (input: string, options: { ignoreCase?: boolean } = {}): SecretMatch[] => {
    if (options.ignoreCase && !caseless) {
      const folded = new Map<string, string>();
      for (const form of forms) if (!folded.has(form.toLowerCase())) folded.set(form.toLowerCase(), maskOf.get(form) as string);
      caseless = { pattern: new RegExp(pattern.source, "gi"), maskOf: folded };
    }
    const using = options.ignoreCase && caseless ? caseless : { pattern, maskOf };
    const matches: SecretMatch[] = [];
    for (const found of input.matchAll(using.pattern)) {
      const mask = using.maskOf.get(options.ignoreCase ? found[0].toLowerCase() : found[0]);
      if (mask !== undefined) matches.push({ index: found.index, length: found[0].length, mask });
    }
    return matches;
  };

  const value = (input: unknown, depth = 0): unknown => {
    if (typeof input === "string") return text(input);
    if (typeof input === "number") {
      const shown = String(input);
      const masked = text(shown);
      return masked === shown ? input : masked;
    }
    if (input === null || typeof input !== "object") return input;
    // Never left unmasked, and never a stack overflow that would lose the run.
    if (depth >= MAX_REDACTED_DEPTH) return TOO_DEEP;
    if (subtreeMask.size > 0) {
      const json = jsonWithin(input, subtreeDepth);
      const mask = json === null ? undefined : subtreeMask.get(json);
      if (mask !== undefined) return mask;
    }
    if (Array.isArray(input)) return input.map((item) => value(item, depth + 1));
    // fromEntries defines own properties, so a "__proto__" key stays a key.
    return Object.fromEntries(Object.entries(input as Record<string, unknown>).map(([key, item]) => [text(key), value(item, depth + 1)]));
  };

  const trimPartial = (input: string): string => {
    let cut = 0;
    for (const form of forms) cut = Math.max(cut, partialSuffix(input, form));
    return cut === 0 ? input : input.slice(0, input.length - cut);
  };

  return { empty: false, text, find, value: (input) => value(input), trimPartial };
}

const IDENTITY: Redactor = { empty: true, text: (s) => s, find: () => [], value: (v) => v, trimPartial: (s) => s };

/** How many levels of arrays and objects `value` has (0 for a scalar). Iterative. */
function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [item, depth] = top;
    if (item === null || typeof item !== "object") continue;
    deepest = Math.max(deepest, depth + 1);
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/**
 * JSON.stringify's text of a parsed JSON value, or null as soon as it is
 * deeper than `maxDepth`: the recursion is bounded by the secrets' own depth,
 * never by the (possibly 10,000-deep) result's.
 */
function jsonWithin(value: unknown, maxDepth: number): string | null {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (maxDepth === 0) return null;
  const parts: string[] = [];
  const entries = Array.isArray(value) ? value.map((item) => [null, item] as const) : Object.entries(value);
  for (const [key, item] of entries) {
    const json = jsonWithin(item, maxDepth - 1);
    if (json === null) return null;
    parts.push(key === null ? json : `${JSON.stringify(key)}:${json}`);
  }
  return Array.isArray(value) ? `[${parts.join(",")}]` : `{${parts.join(",")}}`;
}

/** Length of the longest suffix of `text` that is a proper prefix of `form`. */
function partialSuffix(text: string, form: string): number {
  const first = form[0];
  for (let start = Math.max(0, text.length - form.length + 1); start < text.length; start++) {
    if (text[start] !== first) continue;
    const tail = text.length - start;
    if (form.startsWith(text.slice(start))) return tail;
  }
  return 0;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
