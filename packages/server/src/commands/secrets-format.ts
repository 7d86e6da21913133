import type { ApiError } from "../client/admin-client.ts";

const TARGETS = "(--app <id|name> | --workspace <id|name> | --global)";

/** Each verb's `--help`; the overview is `switchyard secrets --help` in cli.ts. */
export const VERB_USAGE = {
  list: `Usage: switchyard secrets list ${TARGETS} [--json]

Lists secret names with the scope each comes from, its version and when it
changed. For an app this includes what it inherits from its workspace and the
global scope; OVERRIDES names farther scopes the nearer value hides. Values are
never shown.

  --json   print the API's answer as JSON`,
  get: `Usage: switchyard secrets get NAME ${TARGETS} [--json]

Prints a secret's value (a string as is, anything else as JSON), resolving an
app's name through its workspace and the global scope. Needs a token with the
secrets:reveal scope; every reveal is audited.

  --json   print the whole answer (name, value, scope, version)

Example:
  export API_KEY="$(switchyard secrets get API_KEY --app billing)"`,
  set: `Usage: switchyard secrets set NAME [VALUE] ${TARGETS} [--json]

Sets a secret (a new version). Without VALUE the value is read from stdin, one
trailing newline removed, so it stays out of shell history and process lists.
The value is never printed.

  --json   the value is JSON (an object, number, ...) instead of a string

Examples:
  switchyard secrets set API_KEY --app billing < api-key.txt
  switchyard secrets set DB_LOGIN --json --global < db-login.json`,
  delete: `Usage: switchyard secrets delete NAME ${TARGETS}

Deletes a secret and all its versions from the target's own scope (an app's
inherited secrets are deleted at their workspace or --global).`,
  versions: `Usage: switchyard secrets versions NAME ${TARGETS} [--json]

Lists a secret's versions, newest first (metadata only).

  --json   print the API's answer as JSON`,
  rollback: `Usage: switchyard secrets rollback NAME --version N ${TARGETS} [--json]

Makes the value of version N current again, as a new version.

  --version <n>   the version whose value to restore
  --json          print the API's answer as JSON`,
  import: `Usage: switchyard secrets import FILE ${TARGETS} [--dry-run] [--json]

Sets every NAME=value of a dotenv file (FILE, or - for stdin) in one go. A bad
line rejects the whole file and nothing is stored.

  --dry-run   report what would be created, updated or left unchanged
  --json      print the API's answer as JSON

Example:
  switchyard secrets import .env.production --app billing --dry-run`,
} as const;

/** The verbs of `switchyard secrets`. */
export type Verb = keyof typeof VERB_USAGE;

/** Rows as aligned columns, two spaces apart, with no trailing blanks. */
export function table(header: string[], rows: string[][]): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? "").length)));
  return all.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  ").trimEnd());
}

/** An API timestamp, to the second: `2025-03-01 12:00:07Z`. */
export function shortTime(iso: string): string {
  return iso.replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/**
 * The stderr lines of an API error: `switchyard: <message> (<code>)`, then the
 * details an operator can act on (a dotenv file's bad lines, invalid fields).
 */
export function apiErrorLines(error: ApiError): string[] {
  const extra: string[] = [];
  const details = error.details;
  const problems = (details as { lines?: unknown } | undefined)?.lines;
  if (Array.isArray(problems)) {
    for (const p of problems as { line?: unknown; message?: unknown }[]) extra.push(`line ${String(p.line)}: ${String(p.message)}`);
  } else if (Array.isArray(details)) {
    // zod issues from a 400: which field, and what is wrong with it.
    for (const issue of details as { path?: unknown; message?: unknown }[]) {
      extra.push(`${issue.path ? `${String(issue.path)}: ` : ""}${String(issue.message)}`);
    }
  }
  // The message often names the first problem already; say each thing once.
  const fresh = extra.filter((line) => !error.message.includes(line));
  return [`switchyard: ${error.message} (${error.code})`, ...fresh.map((line) => `  ${line}`)];
}
