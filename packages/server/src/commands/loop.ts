import { parseArgs } from "node:util";
import { adminClientFromEnv, ApiError, UnreachableError } from "../client/admin-client.ts";
import { StartupError } from "../startup-error.ts";
import { terminalSafe } from "./terminal-safe.ts";
import { apiErrorLines } from "./secrets-format.ts";
import { GROUP_USAGE, VERB_USAGE } from "./loop-help.ts";
import type { LoopIo, VerbSpec } from "./loop-context.ts";
import { RUN_VERBS } from "./loop-runs.ts";
import { SCRIPT_VERBS } from "./loop-scripts.ts";
import { TRIGGER_VERBS } from "./loop-triggers.ts";

export type { LoopIo } from "./loop-context.ts";

/** The commands of the script author's loop, each a group of verbs but `invoke`. */
export const LOOP_COMMANDS = ["scripts", "invoke", "triggers", "runs", "dead-letters"] as const;

const VERBS: Record<string, VerbSpec> = { ...SCRIPT_VERBS, ...RUN_VERBS, ...TRIGGER_VERBS };

const processIo: LoopIo = {
  error: (line) => console.error(terminalSafe(line)),
  async readStdin() {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    return Buffer.concat(chunks).toString("utf8");
  },
  stderrIsTty: process.stderr.isTTY === true,
  onInterrupt(handler) {
    process.on("SIGINT", handler);
    return () => process.off("SIGINT", handler);
  },
};

/**
 * `switchyard scripts|invoke|triggers|runs|dead-letters ...`: the script
 * author's loop over the admin API, at SWITCHYARD_URL with SWITCHYARD_TOKEN.
 * Resolves to the exit code: 0 done, 1 the service refused or could not be
 * reached or the run failed, 2 a usage error (thrown as a StartupError,
 * which cli.ts prints), 130 when `runs tail` is stopped with Ctrl-C.
 *
 * @example
 * // switchyard scripts deploy welcome.ts --app shop
 * await runLoop("scripts", ["deploy", "welcome.ts", "--app", "shop"], process.env, console.log);
 */
export async function runLoop(
  command: string,
  args: string[],
  env: Record<string, string | undefined>,
  print: (line: string) => void,
  io: LoopIo = processIo,
): Promise<number> {
  let key = command;
  let rest = args;
  if (command !== "invoke") {
    const [verb, ...after] = args;
    if (!verb || verb === "--help" || verb === "-h") {
      print(GROUP_USAGE[command] ?? "");
      return verb ? 0 : 2;
    }
    key = `${command} ${verb}`;
    rest = after;
  }
  const spec = VERBS[key];
  if (!spec) {
    io.error(`switchyard: unknown ${command} command ${JSON.stringify(key.slice(command.length + 1))}; run 'switchyard ${command} --help'`);
    return 2;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    options: { app: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" }, ...spec.options },
    allowPositionals: true,
  });
  if (values.help) {
    print(VERB_USAGE[key] ?? "");
    return 0;
  }
  const usage = (message: string) => new StartupError(`${message} (see 'switchyard ${key} --help')`, 2);
  const app = values.app;
  if (app !== undefined && (typeof app !== "string" || app === "")) throw usage("--app needs an app id or name");
  if (spec.app === "required" && app === undefined) throw usage("--app is required (an app id or name)");
  const [min, max] = spec.args;
  if (positionals.length < min || positionals.length > max) throw usage(`${key} takes ${spec.synopsis}, got ${positionals.length} argument(s)`);
  const client = adminClientFromEnv(env);
  const json = values.json === true;
  try {
    return (await spec.run({ client, app: app as string | undefined, args: positionals, values, json, print, io, usage })) ?? 0;
  } catch (error) {
    if (error instanceof ApiError) {
      if (json) print(JSON.stringify({ error: { code: error.code, message: error.message, ...(error.details === undefined ? {} : { details: error.details }) } }, null, 2));
      for (const line of [...apiErrorLines(error), ...issueLines(error)]) io.error(line);
      return 1;
    }
    if (error instanceof UnreachableError) {
      io.error(`switchyard: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

/** A 400's field issues in a `{issues: [{path, message}]}` body (trigger configs), which apiErrorLines does not read. */
function issueLines(error: ApiError): string[] {
  const issues = (error.details as { issues?: unknown } | undefined)?.issues;
  if (!Array.isArray(issues)) return [];
  return (issues as { path?: unknown; message?: unknown }[]).map((i) => `  ${i.path ? `${String(i.path)}: ` : ""}${String(i.message)}`);
}
