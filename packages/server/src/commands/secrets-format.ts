import type { ApiError } from "../client/admin-client.ts";

const TARGETS = "(--app <id|name> | --workspace <id|name> | --global)";

/** Each verb's `--help`; the overview is `switchyard secrets --help` in cli.ts. */
export const VERB_USAGE = {
  list: `Usage: switchyard secrets list ${TARGETS} [--json]

Lists secret names with the scope each comes from, its version, when it
changed, and the hosts a host-bound secret may be sent to (BOUND, - when
unbound). For an app this includes what it inherits from its workspace and the
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
  set: `Usage: switchyard secrets set NAME [VALUE] ${TARGETS} [--json] [--bind HOST]... [--unbind]

Sets a secret (a new version). Without VALUE the value is read from stdin, one
trailing newline removed, so it stays out of shell history and process lists.
The value is never printed.

A host-bound secret never enters the sandbox: scripts get a placeholder, and
the value is put in its place only in a fetch to one of its hosts. Without
--bind or --unbind a secret keeps the binding it has; setting the same value
with a new binding makes a new version too. Loosening the binding of an
unchanged value (--unbind, or a host not covered before) needs a token with
secrets:reveal.

  --json         the value is JSON (an object, number, ...) instead of a string
  --bind HOST    bind to HOST: host, host:port, *.domain (its subdomains) or an
                 IP address with an optional port; repeat it, or separate
                 hosts with commas; replaces the current binding
  --unbind       remove the binding: scripts may read the value again

Examples:
  switchyard secrets set API_KEY --app billing < api-key.txt
  switchyard secrets set DB_LOGIN --json --global < db-login.json
  switchyard secrets set STRIPE_KEY --app billing --bind api.stripe.com < stripe-key.txt`,
  delete: `Usage: switchyard secrets delete NAME ${TARGETS}

Deletes a secret and all its versions from the target's own scope (an app's
inherited secrets are deleted at their workspace or --global).`,
  versions: `Usage: switchyard secrets versions NAME ${TARGETS} [--json]

Lists a secret's versions, newest first (metadata only), with the hosts each
version was bound to (BOUND, - when unbound).

  --json   print the API's answer as JSON`,
  rollback: `Usage: switchyard secrets rollback NAME --version N ${TARGETS} [--json]

Makes the value of version N current again, with the binding it had, as a new
version. When that loosens the binding of the value, the token needs
secrets:reveal.

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

/** A binding as one cell: its hosts, comma-separated, or - when unbound. */
export function boundCell(hosts: readonly string[] | null | undefined): string {
  return hosts && hosts.length > 0 ? hosts.join(",") : "-";
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
