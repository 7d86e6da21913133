import { tailRuns } from "../client/run-stream.ts";
import { appPath, findInApps, intOption, printJson, requiredApp, scriptId, scriptNames, stringOption, type VerbContext, type VerbSpec } from "./loop-context.ts";
import { runDetails, runHeadline, shortTime, table, type RunJson } from "./loop-format.ts";

const STATUSES = ["running", "ok", "error", "timeout", "oom"];

function statusOption(ctx: VerbContext): string | undefined {
  const status = stringOption(ctx, "status");
  if (status !== undefined && !STATUSES.includes(status)) throw ctx.usage(`--status must be one of ${STATUSES.join(", ")}`);
  return status;
}

const list: VerbSpec = {
  options: { status: { type: "string" }, script: { type: "string" }, limit: { type: "string" }, before: { type: "string" } },
  args: [0, 0],
  synopsis: "no arguments",
  app: "required",
  async run(ctx) {
    const app = requiredApp(ctx);
    const query: Record<string, string> = {};
    const status = statusOption(ctx);
    if (status) query.status = status;
    const limit = intOption(ctx, "limit", 1, 200);
    if (limit !== undefined) query.limit = String(limit);
    const before = stringOption(ctx, "before");
    if (before) query.before = before;
    const script = stringOption(ctx, "script");
    if (script) query.script_id = await scriptId(ctx, app, script);
    const answer = (await ctx.client.request("GET", appPath(app, "/runs"), { query })) as { runs: RunJson[] };
    if (ctx.json) return printJson(ctx, answer);
    if (answer.runs.length === 0) return ctx.print(`no runs in app ${app}${status ? ` with status ${status}` : ""}`);
    const names = await scriptNames(ctx, app);
    const rows = answer.runs.map((r) => [
      r.id,
      r.status,
      names.get(r.script_id) ?? r.script_id,
      r.event_kind,
      String(r.attempt),
      shortTime(r.started_at),
      r.duration_ms === null ? "-" : `${r.duration_ms} ms`,
    ]);
    for (const line of table(["RUN", "STATUS", "SCRIPT", "KIND", "ATTEMPT", "STARTED", "DURATION"], rows)) ctx.print(line);
    const last = answer.runs.at(-1);
    if (last && answer.runs.length === (limit ?? 50)) ctx.io.error(`more: switchyard runs list --app ${app} --before ${last.id}`);
  },
};

const show: VerbSpec = {
  options: {},
  args: [1, 1],
  synopsis: "RUN_ID",
  app: "optional",
  async run(ctx) {
    const id = ctx.args[0] ?? "";
    const { app, answer } = await findInApps(ctx, "run", id, (a) => appPath(a, `/runs/${encodeURIComponent(id)}`));
    if (ctx.json) return printJson(ctx, answer);
    const run = answer as RunJson;
    const names = await scriptNames(ctx, app);
    ctx.print(runHeadline(run, names.get(run.script_id) ?? run.script_id));
    ctx.print(`  event ${run.event_id}, started ${shortTime(run.started_at)}${run.finished_at ? `, finished ${shortTime(run.finished_at)}` : ""}`);
    for (const line of runDetails(run, { result: true })) ctx.print(line);
    return 0;
  },
};

/** `runs tail`: the live stream, printed as runs finish, until Ctrl-C (exit 130). */
const tail: VerbSpec = {
  options: { since: { type: "string" }, status: { type: "string" } },
  args: [0, 0],
  synopsis: "no arguments",
  app: "required",
  async run(ctx) {
    const app = requiredApp(ctx);
    const status = statusOption(ctx);
    const stop = new AbortController();
    let interrupted = false;
    const release = ctx.io.onInterrupt(() => {
      interrupted = true;
      stop.abort();
    });
    try {
      // Checked first, so a bad app or token fails before "tailing" is said.
      const names = await scriptNames(ctx, app);
      if (ctx.io.stderrIsTty && !ctx.json) ctx.io.error(`tailing runs of app ${app} (Ctrl-C to stop)`);
      const runs = tailRuns(ctx.client, app, {
        after: stringOption(ctx, "since"),
        signal: stop.signal,
        onReconnect: (state) => ctx.io.error(state === "lost" ? "switchyard: the stream was interrupted; reconnecting..." : "switchyard: reconnected"),
      });
      for await (const raw of runs) {
        const run = raw as unknown as RunJson;
        if (status && run.status !== status) continue;
        if (ctx.json) {
          ctx.print(JSON.stringify(run));
          continue;
        }
        if (!names.has(run.script_id)) for (const [k, v] of await scriptNames(ctx, app)) names.set(k, v);
        const at = (run.finished_at ?? run.started_at).slice(11, 23);
        ctx.print(`${at}  ${runHeadline(run, names.get(run.script_id) ?? run.script_id)}`);
        for (const line of runDetails(run, { result: false })) ctx.print(line);
      }
    } finally {
      release();
    }
    return interrupted ? 130 : 0;
  },
};

export const RUN_VERBS: Record<string, VerbSpec> = { "runs list": list, "runs show": show, "runs tail": tail };
