import { readFile } from "node:fs/promises";
import type { AdminClient } from "../client/admin-client.ts";
import { StartupError } from "../startup-error.ts";
import { boundCell, shortTime, table, type Verb } from "./secrets-format.ts";

/** Parsed options, as node:util's parseArgs gives them. */
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** What the verbs read and write besides stdout; a test can hand in its own. */
export interface SecretsIo {
  /** One line to stderr. */
  error(line: string): void;
  /** All of stdin, as UTF-8. */
  readStdin(): Promise<string>;
  /** Whether stdin is a terminal (then `set` says what it is waiting for). */
  stdinIsTty: boolean;
}

/** Everything a verb needs: the client, where the target's routes are, and its arguments. */
export interface VerbContext {
  client: AdminClient;
  /** API path prefix of the target, e.g. `/api/v1/admin/apps/billing`. */
  base: string;
  /** The target in words, e.g. `app billing`. */
  target: string;
  args: string[];
  values: Values;
  print: (line: string) => void;
  io: SecretsIo;
  usage: (message: string) => Error;
}

// The answers of API.md's secrets routes, as far as the CLI reads them.
interface SecretRow {
  name: string;
  scope: string;
  version: number;
  updated_at: string;
  bound_hosts?: string[] | null;
  overrides?: string[];
}
interface VersionRow {
  version: number;
  size: number;
  created_at: string;
  created_by: string;
  origin: string;
  bound_hosts?: string[] | null;
  current: boolean;
}
interface ImportReport {
  dry_run: boolean;
  results: { name: string; status: string; line: number }[];
  created: number;
  updated: number;
  unchanged: number;
}
interface WriteAnswer {
  name: string;
  scope: string;
  version: number;
  bound_hosts?: string[] | null;
  rolled_back_to?: number;
}

const printJson = (ctx: VerbContext, value: unknown) => ctx.print(JSON.stringify(value, null, 2));
const secretPath = (ctx: VerbContext, name: string, suffix = "") => `${ctx.base}/secrets/${encodeURIComponent(name)}${suffix}`;
const arg = (ctx: VerbContext, index: number) => ctx.args[index] ?? "";

/** The seven verbs; each prints its outcome and throws ApiError/StartupError on failure. */
export const VERBS: Record<Verb, (ctx: VerbContext) => Promise<void>> = {
  async list(ctx) {
    const answer = (await ctx.client.request("GET", `${ctx.base}/secrets`)) as { secrets: SecretRow[] };
    if (ctx.values.json) return printJson(ctx, answer);
    if (answer.secrets.length === 0) return ctx.print(`no secrets for ${ctx.target}`);
    const rows = answer.secrets.map((s) => [s.name, s.scope, String(s.version), shortTime(s.updated_at), boundCell(s.bound_hosts), s.overrides?.join(",") || "-"]);
    for (const line of table(["NAME", "SCOPE", "VERSION", "UPDATED", "BOUND", "OVERRIDES"], rows)) ctx.print(line);
  },

  async get(ctx) {
    const answer = (await ctx.client.request("POST", secretPath(ctx, arg(ctx, 0), "/reveal"))) as { value: unknown };
    if (ctx.values.json) return printJson(ctx, answer);
    // A string prints as is, so `$(switchyard secrets get X ...)` gives the value without quotes.
    ctx.print(typeof answer.value === "string" ? answer.value : JSON.stringify(answer.value));
  },

  async set(ctx) {
    const name = arg(ctx, 0);
    // Checked before stdin is read: a usage error should not cost the operator a typed value.
    const binding = bindingOption(ctx);
    let raw = ctx.args[1];
    if (raw === undefined) {
      if (ctx.io.stdinIsTty) ctx.io.error(`Type the value of ${name}, then press Ctrl-D (or pipe it in):`);
      raw = (await ctx.io.readStdin()).replace(/\r?\n$/, "");
      // Usually a forgotten pipe; an empty string can still be set as an explicit '' argument.
      if (raw === "") throw new StartupError(`no value on stdin for ${name}; nothing was set`, 2);
    }
    let value: unknown = raw;
    if (ctx.values.json) {
      try {
        value = JSON.parse(raw);
      } catch {
        // JSON.parse's message quotes the input, which here is the secret: say only that it failed.
        throw new StartupError("the value is not valid JSON (--json was given); nothing was set", 2);
      }
    }
    const answer = (await ctx.client.request("POST", `${ctx.base}/secrets`, { json: { name, value, ...binding } })) as WriteAnswer;
    const bound = answer.bound_hosts ? `, bound to ${answer.bound_hosts.join(", ")}` : "";
    ctx.print(`set ${answer.name} (version ${answer.version}, scope ${answer.scope}${bound})`);
  },

  async delete(ctx) {
    await ctx.client.request("DELETE", secretPath(ctx, arg(ctx, 0)));
    ctx.print(`deleted ${arg(ctx, 0)} from ${ctx.target}`);
  },

  async versions(ctx) {
    const answer = (await ctx.client.request("GET", secretPath(ctx, arg(ctx, 0), "/versions"))) as { versions: VersionRow[] };
    if (ctx.values.json) return printJson(ctx, answer);
    const rows = answer.versions.map((v) => [
      `${v.version}${v.current ? " (current)" : ""}`,
      shortTime(v.created_at),
      v.created_by,
      v.origin,
      String(v.size),
      boundCell(v.bound_hosts),
    ]);
    for (const line of table(["VERSION", "CREATED", "BY", "ORIGIN", "SIZE", "BOUND"], rows)) ctx.print(line);
  },

  async rollback(ctx) {
    const version = ctx.values.version;
    if (typeof version !== "string" || !/^[1-9]\d{0,9}$/.test(version)) throw ctx.usage("--version needs a version number (1, 2, ...)");
    const answer = (await ctx.client.request("POST", secretPath(ctx, arg(ctx, 0), "/rollback"), {
      json: { version: Number(version) },
    })) as WriteAnswer;
    if (ctx.values.json) return printJson(ctx, answer);
    ctx.print(`rolled back ${answer.name} to version ${version} (now version ${answer.version}, scope ${answer.scope})`);
  },

  async import(ctx) {
    const file = arg(ctx, 0);
    const text = file === "-" ? await ctx.io.readStdin() : await readText(file);
    const dryRun = ctx.values["dry-run"] === true;
    const report = (await ctx.client.request("POST", `${ctx.base}/secret-imports`, {
      text,
      ...(dryRun ? { query: { dry_run: "true" } } : {}),
    })) as ImportReport;
    if (ctx.values.json) return printJson(ctx, report);
    if (report.results.length > 0) {
      for (const line of table(["STATUS", "NAME", "LINE"], report.results.map((r) => [r.status, r.name, String(r.line)]))) ctx.print(line);
    }
    const counts = `${report.created} created, ${report.updated} updated, ${report.unchanged} unchanged`;
    ctx.print(report.dry_run ? `dry run for ${ctx.target}: ${counts}; nothing was stored` : `imported into ${ctx.target}: ${counts}`);
  },
};

/**
 * The `bound_hosts` of a set: `--bind` entries (repeated, or comma-separated),
 * null for `--unbind`, nothing (keep the current binding) for neither. The
 * service checks each entry and names any bad one.
 */
function bindingOption(ctx: VerbContext): { bound_hosts?: string[] | null } {
  const given = ctx.values.bind;
  const binds = (Array.isArray(given) ? given : given === undefined ? [] : [given]).map(String);
  if (ctx.values.unbind && binds.length > 0) throw ctx.usage("give --bind or --unbind, not both");
  if (ctx.values.unbind) return { bound_hosts: null };
  if (binds.length === 0) return {};
  const hosts = binds.flatMap((b) => b.split(",")).map((h) => h.trim());
  if (hosts.some((h) => h === "")) throw ctx.usage("--bind needs a host (host, host:port, *.domain or an IP address)");
  return { bound_hosts: hosts };
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new StartupError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 1);
  }
}
