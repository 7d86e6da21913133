/** A value of one element of a PostgreSQL array literal: text as is, null as SQL NULL. */
export type ArrayElement = string | number | boolean | null;

/**
 * A PostgreSQL array literal (`{"a","b",NULL}`), sent as one text parameter
 * and cast in SQL (`$1::text::int[]`): the same on every driver, and the
 * cheapest way found to pass a batch's columns (the server parses a few
 * bytes per element, where a JSON array of objects repeats every key in
 * every row). Every element is quoted, with `"` and `\` escaped, so any
 * text (commas, braces, spaces, the word NULL) arrives as it was; only null
 * is written unquoted, as SQL NULL.
 *
 * @example
 * arrayLiteral(["a", 'say "hi"', null]); // '{"a","say \"hi\"",NULL}'
 */
export function arrayLiteral(values: readonly ArrayElement[]): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ",";
    const value = values[i];
    out += value === null || value === undefined ? "NULL" : `"${String(value).replace(/["\\]/g, "\\$&")}"`;
  }
  return `${out}}`;
}

/** A JSON value as an element of a jsonb[] literal; null and undefined become SQL NULL, as jsonb_to_recordset made them. */
export const jsonElement = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));
