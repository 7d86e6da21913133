import { parseArgs, type ParseArgsConfig } from "node:util";
import { adminClientFromEnv, ApiError, UnreachableError } from "../client/admin-client.ts";
import { StartupError } from "../startup-error.ts";
import { apiErrorLines, VERB_USAGE, type Verb } from "./secrets-format.ts";
import { VERBS, type SecretsIo, type Values } from "./secrets-verbs.ts";

export type { SecretsIo } from "./secrets-verbs.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

const TARGET_OPTIONS: Options = {
  app: { type: "string" },
  workspace: { type: "string" },
  global: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};
const json = { type: "boolean" } as const;

/** Per verb: its own options, and how many positional arguments it takes (and what they are, for messages). */
const SPECS: Record<Verb, { options: Options; args: [min: number, max: number]; synopsis: string }> = {
  list: { options: { json }, args: [0, 0], synopsis: "no arguments" },
  get: { options: { json }, args: [1, 1], synopsis: "NAME" },
  set: { options: { json, bind: { type: "string", multiple: true }, unbind: { type: "boolean" } }, args: [1, 2], synopsis: "NAME and an optional VALUE" },
  delete: { options: {}, args: [1, 1], synopsis: "NAME" },
  versions: { options: { json }, args: [1, 1], synopsis: "NAME" },
  rollback: { options: { json, version: { type: "string" } }, args: [1, 1], synopsis: "NAME" },
  import: { options: { json, "dry-run": { type: "boolean" } }, args: [1, 1], synopsis: "FILE (or - for stdin)" },
};

const processIo: SecretsIo = {
  error: (line) => console.error(line),
  async readStdin() {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    return Buffer.concat(chunks).toString("utf8");
  },
  stdinIsTty: process.stdin.isTTY === true,
};

/**
 * `switchyard secrets <verb> ...`: the admin API's secrets routes from a shell,
 * at SWITCHYARD_URL with SWITCHYARD_TOKEN. Resolves to the exit code: 0 done,
 * 1 the service refused or could not be reached, 2 a usage error (thrown as a
 * StartupError, which the dispatcher prints).
 *
 * @example
 * // switchyard secrets set API_KEY --app billing < key.txt
 * await runSecrets(["set", "API_KEY", "--app", "billing"], process.env, console.log);
 */
export async function runSecrets(
  args: string[],
  env: Record<string, string | undefined>,
  print: (line: string) => void,
  io: SecretsIo = processIo,
): Promise<number> {
  const [verb = "", ...rest] = args;
  if (!isVerb(verb)) {
    io.error(`switchyard: unknown secrets command ${JSON.stringify(verb)}; run 'switchyard secrets --help'`);
    return 2;
  }
  const spec = SPECS[verb];
  const { values, positionals } = parseArgs({ args: rest, options: { ...TARGET_OPTIONS, ...spec.options }, allowPositionals: true });
  if (values.help) {
    print(VERB_USAGE[verb]);
    return 0;
  }
  const usage = (message: string) => new StartupError(`${message} (see 'switchyard secrets ${verb} --help')`, 2);
  const target = resolveTarget(values, usage);
  const [min, max] = spec.args;
  if (positionals.length < min || positionals.length > max) {
    throw usage(`secrets ${verb} takes ${spec.synopsis}, got ${positionals.length} argument(s)`);
  }
  // Checked before any stdin is read: a missing token should not cost the operator a typed value.
  const client = adminClientFromEnv(env);
  try {
    await VERBS[verb]({ client, ...target, args: positionals, values, print, io, usage });
    return 0;
  } catch (error) {
    if (error instanceof ApiError) {
      for (const line of apiErrorLines(error)) io.error(line);
      return 1;
    }
    if (error instanceof UnreachableError) {
      io.error(`switchyard: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

function isVerb(verb: string): verb is Verb {
  return Object.hasOwn(SPECS, verb);
}

/** Exactly one of --app, --workspace, --global: the API path prefix and words for messages. */
function resolveTarget(values: Values, usage: (message: string) => Error): { base: string; target: string } {
  const chosen: { base: string; target: string }[] = [];
  for (const kind of ["app", "workspace"] as const) {
    const id = values[kind];
    if (id === undefined) continue;
    if (typeof id !== "string" || id === "") throw usage(`--${kind} needs an id or name`);
    chosen.push({ base: `/api/v1/admin/${kind}s/${encodeURIComponent(id)}`, target: `${kind} ${id}` });
  }
  if (values.global) chosen.push({ base: "/api/v1/admin/global", target: "the global scope" });
  if (chosen.length !== 1) {
    throw usage(`give exactly one target: --app <id|name>, --workspace <id|name> or --global${chosen.length > 1 ? " (got several)" : ""}`);
  }
  return chosen[0]!;
}
