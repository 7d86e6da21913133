import { basename, extname } from "node:path";
import { ApiError } from "../client/admin-client.ts";
import { appPath, intOption, jsonOption, printJson, readText, requiredApp, stringOption, type VerbContext, type VerbSpec } from "./loop-context.ts";
import { diagnosticLines, progress, runDetails, runHeadline, shortTime, table, type RunJson } from "./loop-format.ts";

const LANGUAGES: Record<string, "ts" | "js"> = { ".ts": "ts", ".mts": "ts", ".cts": "ts", ".tsx": "ts", ".js": "js", ".mjs": "js", ".cjs": "js", ".jsx": "js" };
const SCRIPT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

interface ScriptJson {
  id: string;
  name: string;
  version: number;
  language: string;
  updated_at: string;
  /** Set while the current version is quarantined (a run of it stopped the engine). */
  quarantine?: { version: number } | null;
  source?: string;
}

/** A deployed script without its source: the source is the file the caller just sent. */
const withoutSource = ({ source: _source, ...rest }: ScriptJson) => rest;

/** `scripts deploy FILE`: PUT by name (a new version), or POST when the app has no such script yet. */
const deploy: VerbSpec = {
  options: { name: { type: "string" }, language: { type: "string" } },
  args: [1, 1],
  synopsis: "FILE",
  app: "required",
  async run(ctx) {
    const app = requiredApp(ctx);
    const file = ctx.args[0] ?? "";
    const language = languageOf(ctx, file);
    const name = stringOption(ctx, "name") ?? basename(file, extname(file)).toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^[-_]+/, "");
    if (!SCRIPT_NAME.test(name)) throw ctx.usage(`${JSON.stringify(name)} is not a script name (1-63 of a-z 0-9 - _, starting with a letter or digit); give --name`);
    const source = await readText(file);
    const note = progress(ctx.io.stderrIsTty && !ctx.json, `deploying ${name} to ${app}`);
    let script: ScriptJson;
    let created = false;
    try {
      try {
        script = (await ctx.client.request("PUT", appPath(app, `/scripts/${encodeURIComponent(name)}`), { json: { source, language } })) as ScriptJson;
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 404 && (error.details as { what?: string } | undefined)?.what === "script")) throw error;
        script = (await ctx.client.request("POST", appPath(app, "/scripts"), { json: { name, source, language } })) as ScriptJson;
        created = true;
      }
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 422)) throw error;
      note.done();
      if (ctx.json) printJson(ctx, { error: { code: error.code, message: error.message, details: error.details } });
      const lines = diagnosticLines(file, error.details);
      for (const line of lines.length > 0 ? lines : [`${file}: ${error.message}`]) ctx.io.error(line);
      ctx.io.error(`switchyard: ${name} was not deployed: it does not compile`);
      return 1;
    } finally {
      note.done();
    }
    if (ctx.json) return printJson(ctx, withoutSource(script));
    ctx.print(`${created ? "created" : "deployed"} ${script.name} version ${script.version} (${script.id}) in app ${app}`);
  },
};

function languageOf(ctx: VerbContext, file: string): "ts" | "js" {
  const given = stringOption(ctx, "language");
  if (given !== undefined) {
    if (given !== "ts" && given !== "js") throw ctx.usage("--language must be ts or js");
    return given;
  }
  const language = LANGUAGES[extname(file).toLowerCase()];
  if (!language) throw ctx.usage(`cannot tell the language of ${file} from its extension; give --language ts or --language js`);
  return language;
}

const list: VerbSpec = {
  options: {},
  args: [0, 0],
  synopsis: "no arguments",
  app: "required",
  async run(ctx) {
    const answer = (await ctx.client.request("GET", appPath(requiredApp(ctx), "/scripts"))) as { scripts: ScriptJson[] };
    if (ctx.json) return printJson(ctx, answer);
    if (answer.scripts.length === 0) return ctx.print(`no scripts in app ${requiredApp(ctx)}`);
    const rows = answer.scripts.map((s) => [s.name, s.quarantine ? `${s.version} (quarantined)` : String(s.version), s.language, shortTime(s.updated_at), s.id]);
    for (const line of table(["NAME", "VERSION", "LANGUAGE", "UPDATED", "ID"], rows)) ctx.print(line);
  },
};

const POLL_MS = 150;

/** `invoke --app APP SCRIPT`: enqueue a manual event, then wait for its first run and print it. */
const invoke: VerbSpec = {
  options: { payload: { type: "string" }, "no-wait": { type: "boolean" }, timeout: { type: "string" } },
  args: [1, 1],
  synopsis: "SCRIPT",
  app: "required",
  async run(ctx) {
    const app = requiredApp(ctx);
    const script = ctx.args[0] ?? "";
    const payload = (await jsonOption(ctx, "payload")) ?? null;
    const timeoutS = intOption(ctx, "timeout", 1, 86_400) ?? 60;
    const { event_id: eventId } = (await ctx.client.request("POST", appPath(app, `/scripts/${encodeURIComponent(script)}/invoke`), { json: { payload } })) as { event_id: string };
    if (ctx.values["no-wait"]) return ctx.json ? printJson(ctx, { event_id: eventId }) : ctx.print(eventId);
    const note = progress(ctx.io.stderrIsTty && !ctx.json, `waiting for ${script}'s run (event ${eventId})`);
    const deadline = Date.now() + timeoutS * 1000;
    let found: RunJson | undefined;
    try {
      while (!found) {
        const { runs } = (await ctx.client.request("GET", appPath(app, "/runs"), { query: { event_id: eventId, limit: "1" } })) as { runs: RunJson[] };
        // The first attempt to finish (its retries, if any, come later).
        found = runs.find((r) => r.status !== "running");
        if (found) break;
        if (Date.now() > deadline) {
          note.done();
          ctx.io.error(`switchyard: no run of event ${eventId} finished within ${timeoutS} s; it is still queued or running (see 'switchyard runs list --app ${app}')`);
          return 1;
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    } finally {
      note.done();
    }
    const run = (await ctx.client.request("GET", appPath(app, `/runs/${encodeURIComponent(found.id)}`))) as RunJson;
    if (ctx.json) printJson(ctx, run);
    else for (const line of [runHeadline(run, script), ...runDetails(run, { result: true })]) ctx.print(line);
    return run.status === "ok" ? 0 : 1;
  },
};

export const SCRIPT_VERBS: Record<string, VerbSpec> = { "scripts deploy": deploy, "scripts list": list, invoke };
