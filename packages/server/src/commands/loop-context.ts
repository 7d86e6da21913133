import { readFile } from "node:fs/promises";
import type { ParseArgsConfig } from "node:util";
import { ApiError, type AdminClient } from "../client/admin-client.ts";
import { StartupError } from "../startup-error.ts";

export type Options = NonNullable<ParseArgsConfig["options"]>;
/** Parsed options, as node:util's parseArgs gives them. */
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** What the verbs touch besides stdout; a test can hand in its own. */
export interface LoopIo {
  /** One line to stderr. */
  error(line: string): void;
  /** All of stdin, as UTF-8 (for `@-`). */
  readStdin(): Promise<string>;
  /** Whether stderr is a terminal: progress notes are drawn only then. */
  stderrIsTty: boolean;
  /** Called on Ctrl-C (SIGINT) until the returned function is called. */
  onInterrupt(handler: () => void): () => void;
}

/** Everything a verb needs. */
export interface VerbContext {
  client: AdminClient;
  /** The --app value (an id or name), or undefined when not given. */
  app: string | undefined;
  args: string[];
  values: Values;
  json: boolean;
  print: (line: string) => void;
  io: LoopIo;
  usage: (message: string) => Error;
}

/** A verb: its options beyond --app/--json/--help, its positional arguments, whether --app is required. */
export interface VerbSpec {
  options: Options;
  args: [min: number, max: number];
  synopsis: string;
  app: "required" | "optional";
  /** Resolves to the exit code (0 when nothing is returned). */
  run(ctx: VerbContext): Promise<number | void>;
}

export const appPath = (app: string, suffix = "") => `/api/v1/admin/apps/${encodeURIComponent(app)}${suffix}`;

export const printJson = (ctx: VerbContext, value: unknown) => ctx.print(JSON.stringify(value, null, 2));

export const stringOption = (ctx: VerbContext, name: string): string | undefined => {
  const v = ctx.values[name];
  return typeof v === "string" ? v : undefined;
};

/** The --app of a verb that requires it (the runner has checked it is there). */
export const requiredApp = (ctx: VerbContext): string => ctx.app ?? "";

/** A whole number option within [min, max], or undefined when absent; a usage error otherwise. */
export function intOption(ctx: VerbContext, name: string, min: number, max: number): number | undefined {
  const raw = stringOption(ctx, name);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw ctx.usage(`--${name} must be a whole number from ${min} to ${max}`);
  return Number(raw);
}

/** A file's text; an unreadable file is a failure (exit 1) naming it. */
export async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new StartupError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 1);
  }
}

/** A JSON option given as text, `@FILE` or `@-` (stdin); text that does not parse is a usage error. */
export async function jsonOption(ctx: VerbContext, name: string): Promise<unknown> {
  const raw = stringOption(ctx, name);
  if (raw === undefined) return undefined;
  const from = raw === "@-" ? "stdin" : raw.startsWith("@") ? raw.slice(1) : null;
  const text = raw === "@-" ? await ctx.io.readStdin() : from ? await readText(from) : raw;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw ctx.usage(`--${name}${from ? ` (${from})` : ""} is not valid JSON: ${(error as Error).message}`);
  }
}

/** A script's id from its name or id (the trigger and filter parameters take ids). */
export async function scriptId(ctx: VerbContext, app: string, ref: string): Promise<string> {
  const script = (await ctx.client.request("GET", appPath(app, `/scripts/${encodeURIComponent(ref)}`))) as { id: string };
  return script.id;
}

/** Script ids to names, for tables; empty when the token may not read scripts (ids are shown then). */
export async function scriptNames(ctx: VerbContext, app: string): Promise<Map<string, string>> {
  try {
    const answer = (await ctx.client.request("GET", appPath(app, "/scripts"))) as { scripts: { id: string; name: string }[] };
    return new Map(answer.scripts.map((s) => [s.id, s.name]));
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return new Map();
    throw error;
  }
}

/**
 * The app that holds `id`, for verbs whose --app is optional: the given
 * one, else each app the token sees is asked in turn for `path(app)`.
 * Resolves to the app and the answer.
 */
export async function findInApps(ctx: VerbContext, what: string, id: string, path: (app: string) => string): Promise<{ app: string; answer: unknown }> {
  if (ctx.app) return { app: ctx.app, answer: await ctx.client.request("GET", path(ctx.app)) };
  const { apps } = (await ctx.client.request("GET", "/api/v1/admin/apps")) as { apps: { id: string }[] };
  for (const app of apps) {
    try {
      return { app: app.id, answer: await ctx.client.request("GET", path(app.id)) };
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
  }
  throw new ApiError(404, "not_found", `${what} ${JSON.stringify(id)} was not found in any app this token sees (give --app)`);
}
