/**
 * A secret name pattern of a `secret_changed` trigger: a secret name in which
 * `*` stands for any run of characters (none included) and `?` for exactly
 * one, e.g. `STRIPE_*`, `*_TOKEN`, `DB_?_URL`. Names are case-sensitive, as
 * they are everywhere else.
 */
export const NAME_PATTERN = /^[A-Za-z0-9_*?]{1,128}$/;

export const NAME_PATTERN_MESSAGE = "a secret name pattern: letters, digits, _ and the wildcards * (any run) and ? (one character), at most 128 characters";

/**
 * Whether `name` matches `pattern`. Iterative with one backtrack point (the
 * classic wildcard match), so a pattern of many stars is linear-ish, never
 * exponential as a regular expression built from it could be.
 *
 * @example
 * nameMatches("STRIPE_*", "STRIPE_KEY"); // true
 * nameMatches("STRIPE_*", "stripe_key"); // false
 */
export function nameMatches(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    const c = pattern[p];
    if (c === "?" || (c !== undefined && c !== "*" && c === name[n])) {
      p++;
      n++;
    } else if (c === "*") {
      star = p++;
      resume = n;
    } else if (star >= 0) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
}
