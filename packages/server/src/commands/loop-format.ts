import { shortTime, table } from "./secrets-format.ts";

export { shortTime, table };

/** A run as the API answers it, as far as the CLI reads it. */
export interface RunJson {
  id: string;
  script_id: string;
  event_id: string;
  event_kind: string;
  attempt: number;
  status: string;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  logs?: { level: string; message: string; at?: number }[];
  logs_truncated?: boolean;
  result?: unknown;
  error?: { name?: string; message?: string; stack?: string | null; code?: string } | null;
  subrequests?: { method?: string; url?: string; status?: number | null; duration_ms?: number; outcome?: string }[];
}

const duration = (ms: number | null | undefined) => (ms === null || ms === undefined ? "-" : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`);

/** A run's outcome in one line: `run_… ok in 12 ms (hello, manual, attempt 1)`. */
export function runHeadline(run: RunJson, scriptName: string): string {
  return `${run.id}  ${run.status} in ${duration(run.duration_ms)}  (${scriptName}, ${run.event_kind}, attempt ${run.attempt})`;
}

/** The lines below a run's headline: its logs, the result and the error, indented. */
export function runDetails(run: RunJson, options: { result: boolean }): string[] {
  const lines: string[] = [];
  for (const log of run.logs ?? []) {
    const [first = "", ...rest] = log.message.split("\n");
    lines.push(`  ${log.level.padEnd(5)} ${first}`, ...rest.map((l) => `        ${l}`));
  }
  if (run.logs_truncated) lines.push("  (logs truncated)");
  for (const s of run.subrequests ?? []) {
    lines.push(`  fetch ${s.method ?? "GET"} ${s.url ?? ""} -> ${s.status ?? s.outcome ?? "?"} in ${duration(s.duration_ms)}`);
  }
  if (run.error) {
    const e = run.error;
    const head = `${e.name ?? "Error"}${e.code ? ` [${e.code}]` : ""}: ${e.message ?? ""}`;
    // A stack's first line repeats name and message.
    const stack = (e.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l));
    lines.push(`  error ${head}`, ...stack.map((l) => `      ${l.trim()}`));
  }
  if (options.result && run.status === "ok" && run.result !== undefined) lines.push(`  result ${JSON.stringify(run.result)}`);
  return lines;
}

/**
 * Compile diagnostics as `FILE:LINE:COLUMN: message` (the form editors and
 * terminals turn into links), each with its source line and a caret.
 */
export function diagnosticLines(file: string, details: unknown): string[] {
  const diagnostics = (details as { diagnostics?: unknown } | undefined)?.diagnostics;
  if (!Array.isArray(diagnostics)) return [];
  const out: string[] = [];
  for (const d of diagnostics as { line?: number; column?: number; message?: string; lineText?: string }[]) {
    out.push(`${file}:${d.line ?? 1}:${d.column ?? 1}: error: ${d.message ?? "does not compile"}`);
    if (d.lineText !== undefined) out.push(`    ${d.lineText}`, `    ${" ".repeat(Math.max(0, (d.column ?? 1) - 1))}^`);
  }
  return out;
}

/**
 * A one-line progress note on stderr for work that takes a while, shown only
 * on a terminal and redrawn in place; `done()` clears it. Off a terminal
 * (a script, a pipe, a CI log) nothing is written.
 */
export function progress(enabled: boolean, label: string): { update(text: string): void; done(): void } {
  if (!enabled) return { update() {}, done() {} };
  const started = Date.now();
  const frames = ["|", "/", "-", "\\"];
  let text = label;
  let frame = 0;
  const draw = () => process.stderr.write(`\r\x1b[2K${frames[frame++ % frames.length]} ${text} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  draw();
  const timer = setInterval(draw, 100);
  return {
    update(next) {
      text = next;
    },
    done() {
      clearInterval(timer);
      process.stderr.write("\r\x1b[2K");
    },
  };
}
