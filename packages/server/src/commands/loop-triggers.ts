import { appPath, findInApps, intOption, jsonOption, printJson, requiredApp, scriptId, scriptNames, stringOption, type VerbContext, type VerbSpec } from "./loop-context.ts";
import { shortTime, table } from "./loop-format.ts";

interface TriggerJson {
  id: string;
  name: string;
  kind: string;
  script_id: string;
  enabled: boolean;
  config: Record<string, unknown>;
  url?: string | null;
  inbound_url?: string;
  smtp_address?: string | null;
  signing_secret?: string;
}

const listTriggers: VerbSpec = {
  options: {},
  args: [0, 0],
  synopsis: "no arguments",
  app: "required",
  async run(ctx) {
    const app = requiredApp(ctx);
    const answer = (await ctx.client.request("GET", appPath(app, "/triggers"))) as { triggers: TriggerJson[] };
    if (ctx.json) return printJson(ctx, answer);
    if (answer.triggers.length === 0) return ctx.print(`no triggers in app ${app}`);
    const names = await scriptNames(ctx, app);
    const rows = answer.triggers.map((t) => [t.name, t.kind, names.get(t.script_id) ?? t.script_id, t.enabled ? "yes" : "no", t.id]);
    for (const line of table(["NAME", "KIND", "SCRIPT", "ENABLED", "ID"], rows)) ctx.print(line);
  },
};

/** The config a create sends: --config, with --schedule, --timezone and --signing laid over it. */
async function configOf(ctx: VerbContext, kind: string): Promise<Record<string, unknown> | undefined> {
  const given = await jsonOption(ctx, "config");
  if (given !== undefined && (typeof given !== "object" || given === null || Array.isArray(given))) throw ctx.usage("--config must be a JSON object");
  const config: Record<string, unknown> = { ...(given as Record<string, unknown> | undefined) };
  const schedule = stringOption(ctx, "schedule");
  const timezone = stringOption(ctx, "timezone");
  if ((schedule !== undefined || timezone !== undefined) && kind !== "cron") throw ctx.usage("--schedule and --timezone are for --kind cron");
  if (schedule !== undefined) config.schedule = schedule;
  if (timezone !== undefined) config.timezone = timezone;
  if (ctx.values.signing) {
    if (kind !== "http" && kind !== "email") throw ctx.usage("--signing is for --kind http or email");
    config.signing = true;
  }
  return given === undefined && Object.keys(config).length === 0 ? undefined : config;
}

const createTrigger: VerbSpec = {
  options: {
    kind: { type: "string" },
    script: { type: "string" },
    name: { type: "string" },
    config: { type: "string" },
    retry: { type: "string" },
    schedule: { type: "string" },
    timezone: { type: "string" },
    signing: { type: "boolean" },
    disabled: { type: "boolean" },
  },
  args: [0, 0],
  synopsis: "no arguments (the trigger is described by options)",
  app: "required",
  async run(ctx) {
    const app = requiredApp(ctx);
    const kind = stringOption(ctx, "kind");
    const script = stringOption(ctx, "script");
    if (!kind) throw ctx.usage("--kind is required (http, cron, email, dead_letter, connectivity, ...)");
    if (!script) throw ctx.usage("--script is required (a script's name or id)");
    const config = await configOf(ctx, kind);
    const retry = await jsonOption(ctx, "retry");
    const id = await scriptId(ctx, app, script);
    const name = stringOption(ctx, "name") ?? `${script}-${kind}`.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").slice(0, 63);
    const body = { kind, name, script_id: id, ...(config ? { config } : {}), ...(retry !== undefined ? { retry } : {}), ...(ctx.values.disabled ? { enabled: false } : {}) };
    const trigger = (await ctx.client.request("POST", appPath(app, "/triggers"), { json: body })) as TriggerJson;
    if (ctx.json) return printJson(ctx, trigger);
    ctx.print(`created ${trigger.kind} trigger ${trigger.name} (${trigger.id}) for script ${script}${trigger.enabled ? "" : ", disabled"}`);
    if (trigger.kind === "http" && trigger.url) ctx.print(`  url: ${ctx.client.url}${trigger.url}`);
    if (trigger.inbound_url) ctx.print(`  inbound url: ${trigger.inbound_url}`);
    if (trigger.smtp_address) ctx.print(`  smtp address: ${trigger.smtp_address}`);
    if (trigger.signing_secret) ctx.print(`  signing secret (shown this once): ${trigger.signing_secret}`);
  },
};

interface DeadLetterJson {
  id: string;
  kind: string;
  script_id: string;
  attempts: number;
  last_error: { message?: string } | null;
  created_at: string;
}

const listDeadLetters: VerbSpec = {
  options: { script: { type: "string" }, limit: { type: "string" } },
  args: [0, 0],
  synopsis: "no arguments",
  app: "required",
  async run(ctx) {
    const app = requiredApp(ctx);
    const query: Record<string, string> = {};
    const limit = intOption(ctx, "limit", 1, 200);
    if (limit !== undefined) query.limit = String(limit);
    const script = stringOption(ctx, "script");
    if (script) query.script_id = await scriptId(ctx, app, script);
    const answer = (await ctx.client.request("GET", appPath(app, "/dead-letters"), { query })) as { dead_letters: DeadLetterJson[] };
    if (ctx.json) return printJson(ctx, answer);
    if (answer.dead_letters.length === 0) return ctx.print(`no dead letters in app ${app}`);
    const names = await scriptNames(ctx, app);
    const rows = answer.dead_letters.map((d) => [
      d.id,
      d.kind,
      names.get(d.script_id) ?? d.script_id,
      String(d.attempts),
      shortTime(d.created_at),
      (d.last_error?.message ?? "-").split("\n")[0]?.slice(0, 80) ?? "-",
    ]);
    for (const line of table(["ID", "KIND", "SCRIPT", "ATTEMPTS", "CREATED", "LAST ERROR"], rows)) ctx.print(line);
  },
};

const replayDeadLetter: VerbSpec = {
  options: {},
  args: [1, 1],
  synopsis: "ID",
  app: "optional",
  async run(ctx) {
    const id = ctx.args[0] ?? "";
    // Without --app, the dead letter's app is found first (the replay route is per app).
    const app = ctx.app ?? (await findInApps(ctx, "dead letter", id, (a) => appPath(a, `/dead-letters/${encodeURIComponent(id)}`))).app;
    const answer = (await ctx.client.request("POST", appPath(app, `/dead-letters/${encodeURIComponent(id)}/replay`))) as { event_id: string };
    if (ctx.json) return printJson(ctx, answer);
    ctx.print(`replayed dead letter ${id} as event ${answer.event_id}`);
  },
};

export const TRIGGER_VERBS: Record<string, VerbSpec> = {
  "triggers list": listTriggers,
  "triggers create": createTrigger,
  "dead-letters list": listDeadLetters,
  "dead-letters replay": replayDeadLetter,
};
