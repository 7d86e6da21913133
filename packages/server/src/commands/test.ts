import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import type { LocalRun } from "../harness/run-script.ts";
import { StartupError } from "../startup-error.ts";

export const TEST_HELP = `Usage: switchyard test FILE [--event EVENT.json | --payload JSON] [--secret NAME=VALUE]...
                       [--secret-json NAME=JSON]... [--allow RULE]... [--json]

Runs the script FILE (.js or .ts) once on this machine as the service would:
the same compiler, sandbox, SDK, web runtime and default limits (64 MB,
5 s of CPU, 30 s), fetch under the default egress policy, and email checked
as a real send would be, then captured and printed instead of sent. No
server and no database: the secrets are the ones given here.

Options:
  --event <file>           the event as JSON, as a trigger delivers it (- reads
                           stdin); default {"kind":"manual","payload":{}}
  --payload <json>         a manual event with this payload instead
  --secret NAME=VALUE      what secrets.get(NAME) answers, as a string; repeatable
  --secret-json NAME=JSON  the same with a JSON value; EMAIL_FROM and
                           EGRESS_ALLOWED_HOSTS act as the app settings
  --allow <rule>           a destination fetch may reach beyond the default
                           policy (as SWITCHYARD_EGRESS_ALLOW: 127.0.0.1:8080,
                           10.0.0.0/8, *.internal); repeatable
  --json                   print one JSON object: status, result, error,
                           diagnostics, logs, mail, subrequests, secrets_read

Exit codes: 0 the run succeeded, 1 it failed (an error, a timeout, out of
memory, or the file does not compile), 2 usage error.

Example:
  switchyard test on-invoice.ts --event invoice.json --secret API_KEY=test-key`;

/**
 * `switchyard test FILE ...`: the local test harness from a shell. Resolves
 * to the exit code; usage errors are thrown as StartupError (exit 2).
 *
 * @example
 * // switchyard test hook.js --event sample.json --secret TOKEN=abc
 * const code = await runTest(["hook.js", "--event", "sample.json", "--secret", "TOKEN=abc"], console.log);
 */
export async function runTest(args: string[], print: (line: string) => void, readStdin: () => Promise<string> = stdinText): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      event: { type: "string" },
      payload: { type: "string" },
      secret: { type: "string", multiple: true },
      "secret-json": { type: "string", multiple: true },
      allow: { type: "string", multiple: true },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    print(TEST_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new StartupError(`test takes one FILE (got ${positionals.length}); run 'switchyard test --help'`, 2);
  const file = positionals[0] as string;
  if (values.event !== undefined && values.payload !== undefined) throw new StartupError("--event and --payload: give one", 2);
  const source = await readText(file, "the script");
  const event = values.payload !== undefined ? { kind: "manual", payload: parseJson(values.payload, "--payload") } : values.event !== undefined ? await readEvent(values.event, readStdin) : undefined;
  const secrets: Record<string, unknown> = {};
  for (const entry of values.secret ?? []) {
    const [name, value] = splitEntry(entry, "--secret");
    secrets[name] = value;
  }
  for (const entry of values["secret-json"] ?? []) {
    const [name, value] = splitEntry(entry, "--secret-json");
    // The message names the secret, never the value.
    secrets[name] = parseJson(value, `--secret-json ${name}`, false);
  }

  const { runScript } = await import("../harness/run-script.ts");
  const run = await runScript({
    source,
    language: file.endsWith(".ts") || file.endsWith(".mts") ? "ts" : "js",
    filename: file,
    ...(event === undefined ? {} : { event }),
    secrets,
    egressAllow: values.allow ?? [],
  });
  if (values.json) print(JSON.stringify(jsonOf(run), null, 2));
  else for (const line of describe(run, file)) print(line);
  return run.status === "ok" ? 0 : 1;
}

async function stdinText(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString("utf8");
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new StartupError(`cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 2);
  }
}

async function readEvent(path: string, readStdin: () => Promise<string>): Promise<unknown> {
  const text = path === "-" ? await readStdin() : await readText(path, "the event");
  const event = parseJson(text, `the event ${path}`);
  const kind = (event as { kind?: unknown } | null)?.kind;
  if (event === null || typeof event !== "object" || Array.isArray(event) || typeof kind !== "string") {
    throw new StartupError(`the event ${path} must be a JSON object with a string "kind" (http, cron, email, dead_letter, manual, connectivity, secret_changed)`, 2);
  }
  return event;
}

function parseJson(text: string, what: string, quote = true): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new StartupError(`${what} is not valid JSON${quote ? `: ${(error as Error).message}` : ""}`, 2);
  }
}

function splitEntry(entry: string, option: string): [string, string] {
  const at = entry.indexOf("=");
  const name = at < 0 ? "" : entry.slice(0, at);
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name)) throw new StartupError(`${option} takes NAME=VALUE with a secret name (letters, digits, _) before the =`, 2);
  return [name, entry.slice(at + 1)];
}

function jsonOf(run: LocalRun) {
  return {
    status: run.status,
    result: run.result,
    error: run.error,
    diagnostics: run.diagnostics,
    logs: run.logs,
    mail: run.mail,
    subrequests: run.subrequests,
    secrets_read: run.secretsRead,
    duration_ms: run.durationMs,
    cpu_ms: run.cpuMs,
    ctx: run.ctx,
  };
}

/** The run for a person: what happened, its logs, the mail it would have sent, its fetches, and its result or error. */
function describe(run: LocalRun, file: string): string[] {
  if (run.status === "compile_error") {
    const lines = [`${file} does not compile: ${run.error?.message ?? ""}`];
    for (const d of run.diagnostics) lines.push(`${file}:${d.line}:${d.column}: ${d.message}`, ...(d.lineText ? [`    ${d.lineText}`] : []));
    return lines;
  }
  const ms = (n: number) => `${Math.round(n)} ms`;
  const lines = [`${run.status === "ok" ? "ok" : `FAILED (${run.status})`} in ${ms(run.durationMs)} (CPU ${ms(run.cpuMs)})`];
  if (run.logs.length > 0) {
    lines.push("", "logs:");
    for (const log of run.logs) lines.push(`  ${log.level.padEnd(5)} +${ms(log.at)}  ${log.message}`);
  }
  if (run.mail.length > 0) {
    lines.push("", `mail (${run.mail.length} captured, not sent):`);
    run.mail.forEach((mail, i) => {
      lines.push(`--- message ${i + 1} of ${run.mail.length} (${mail.kind}) ---`, `From: ${mail.from}`, `To: ${mail.to.join(", ")}`);
      if (mail.cc.length > 0) lines.push(`Cc: ${mail.cc.join(", ")}`);
      if (mail.bcc.length > 0) lines.push(`Bcc: ${mail.bcc.join(", ")}`);
      lines.push(`Subject: ${mail.subject}`, "", mail.text);
      if (mail.html !== null) lines.push("", "[html]", mail.html);
    });
    lines.push("---");
  }
  if (run.subrequests.length > 0) {
    lines.push("", "fetches:");
    for (const sub of run.subrequests) lines.push(`  ${sub.method} ${sub.url} -> ${sub.status ?? "-"} ${sub.outcome} (${ms(sub.duration_ms)}, ${sub.bytes} bytes)`);
  }
  if (run.error) {
    const retry = run.error.retry.kind === "retry_after" ? `retry after ${run.error.retry.delayMs} ms` : run.error.retry.kind === "no_retry" ? "no retry" : "would be retried";
    lines.push("", `error: ${run.error.name}${run.error.code ? ` [${run.error.code}]` : ""}: ${run.error.message} (${retry})`);
    if (run.error.stack) lines.push(...run.error.stack.split("\n").slice(1).map((l) => `  ${l.trim()}`));
  } else {
    lines.push("", "result:", run.result === null || run.result === undefined ? "  (none)" : JSON.stringify(run.result, null, 2));
  }
  return lines;
}
