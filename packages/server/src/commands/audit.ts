import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { sql } from "drizzle-orm";
import type { Db } from "@switchyard/core";
import { pendingMigrations, resultRows } from "@switchyard/db";
import { verifyAuditChains, type AuditVerifyReport, type ChainReport, type SavedHead } from "../audit/index.ts";
import { parseConfig } from "../config.ts";
import { createLogger } from "../logger.ts";
import { loadKeyring } from "../master-keys.ts";
import { openDatabase, pgliteDir } from "../runtime.ts";
import { StartupError } from "../startup-error.ts";

export interface AuditIo {
  /** Progress, rewritten in place; only when it is a terminal. */
  progress: ((text: string) => void) | null;
  error(line: string): void;
}

const processIo = (): AuditIo => ({
  progress: process.stderr.isTTY ? (text) => process.stderr.write(`\r\x1b[2K${text}`) : null,
  error: (line) => console.error(line),
});

/**
 * `switchyard audit verify [--workspace ID | --global] [--against FILE] [--grace DURATION] [--json]`:
 * walks each workspace's audit chain and reports the first row that was
 * edited, deleted or reordered, a cut tail, a forged or missing checkpoint,
 * a chain started again, and rows left unsealed past the grace period
 * (default 5m). A `--workspace` that is neither a workspace nor a chain is a
 * failure (1), not an empty pass. Needs the
 * master key(s) (the chain's MAC key is a data key they wrap) and the
 * database (DATABASE_URL, or the embedded one, which the service must not hold
 * open). Resolves to 0 when every chain checks out, 1 when one does not, 2 on
 * a usage error.
 *
 * @example
 * // keep today's heads, and check tomorrow that nothing was cut since
 * // switchyard audit verify --json > heads-2026-12-06.json
 * // switchyard audit verify --against heads-2026-12-06.json
 */
export async function runAudit(args: string[], env: NodeJS.ProcessEnv, print: (line: string) => void, io: AuditIo = processIo()): Promise<number> {
  const [verb = "", ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      workspace: { type: "string" },
      global: { type: "boolean", default: false },
      against: { type: "string" },
      grace: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  if (verb !== "verify") throw new StartupError(`unknown audit command ${JSON.stringify(verb)}; run 'switchyard audit --help'`, 2);
  if (positionals.length > 0) throw new StartupError(`audit verify takes no arguments (got ${JSON.stringify(positionals[0])})`, 2);
  if (values.workspace !== undefined && values.global) throw new StartupError("give --workspace ID or --global, not both", 2);
  const against = values.against ? await readSavedHeads(values.against) : undefined;
  const graceMs = values.grace === undefined ? undefined : parseGrace(values.grace);
  const config = parseConfig(env);
  if (!config.databaseUrl && !existsSync(pgliteDir(config))) {
    throw new StartupError(`there is no embedded database in ${pgliteDir(config)} (set SWITCHYARD_DATA_DIR, or DATABASE_URL for PostgreSQL)`, 2);
  }
  const loaded = await loadKeyring(config);
  try {
    const database = await openDatabase(config, createLogger({ ...config, logLevel: "warn" }), "audit");
    try {
      const pending = await pendingMigrations(database.db);
      if (pending.length > 0) throw new StartupError(`the database is ${pending.length} migration(s) behind; run 'switchyard migrate' first`, 1);
      const report = await verifyAuditChains(database.db, loaded.keyring, {
        ...(values.global ? { workspace: null } : values.workspace !== undefined ? { workspace: values.workspace } : {}),
        ...(against ? { against } : {}),
        ...(graceMs !== undefined ? { graceMs } : {}),
        ...(io.progress ? { onProgress: progressLine(io.progress) } : {}),
      });
      io.progress?.("");
      if (values.workspace !== undefined && report.chains.length === 0 && !(await workspaceExists(database.db, values.workspace))) {
        // A typo, or a workspace whose every trace is gone: either way there was nothing to check, which is no pass.
        throw new StartupError(`no workspace ${JSON.stringify(values.workspace)} and no audit chain of that id: nothing was verified ('audit verify' without --workspace lists every chain)`, 1);
      }
      if (values.json) print(JSON.stringify(report));
      else for (const line of summary(report, values.workspace)) print(line);
      return report.ok ? 0 : 1;
    } finally {
      await database.close();
    }
  } finally {
    loaded.close();
  }
}

async function workspaceExists(db: Db, id: string): Promise<boolean> {
  const [row] = resultRows<{ any: boolean }>(await db.execute(sql`select exists (select 1 from workspaces where id = ${id}) as any`));
  return row?.any === true;
}

/** `--grace 90s`, `5m`, `1h` (or seconds): how long a row may stay unsealed. */
function parseGrace(text: string): number {
  const match = /^(\d+)(s|m|h)?$/.exec(text.trim());
  if (!match) throw new StartupError(`--grace ${JSON.stringify(text)}: give a duration such as 90s, 5m or 1h`, 2);
  return Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? "s") as "s" | "m" | "h"];
}

/** An earlier `audit verify --json`: the heads to hold the database to. */
async function readSavedHeads(path: string): Promise<{ workspace_id: string | null; head: SavedHead | null }[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new StartupError(`--against ${path}: cannot read it as JSON (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, 2);
  }
  const chains = (parsed as { chains?: unknown }).chains;
  const valid =
    Array.isArray(chains) &&
    chains.every((c: Partial<ChainReport>) => (c.workspace_id === null || typeof c.workspace_id === "string") && (c.head === null || (typeof c.head?.seq === "number" && typeof c.head.last_mac === "string")));
  if (!valid) throw new StartupError(`--against ${path}: not the output of 'switchyard audit verify --json'`, 2);
  return (chains as ChainReport[]).map((c) => ({ workspace_id: c.workspace_id, head: c.head }));
}

function progressLine(write: (text: string) => void) {
  let last = 0;
  return (workspace: string | null, rows: number) => {
    const now = Date.now();
    if (now - last < 200) return;
    last = now;
    write(`${workspace ?? "(global)"}: ${rows.toLocaleString("en-US")} rows checked`);
  };
}

function summary(report: AuditVerifyReport, workspace: string | undefined): string[] {
  if (report.chains.length === 0) return [workspace === undefined ? "the audit log is empty: nothing to verify" : `${workspace}: no audit rows yet`];
  const lines: string[] = [];
  const width = Math.max(...report.chains.map((c) => (c.workspace_id ?? "(global)").length));
  for (const chain of report.chains) {
    const name = (chain.workspace_id ?? "(global)").padEnd(width);
    const unsealed = chain.unsealed > 0 ? `, ${chain.unsealed} not sealed yet (within the grace period)` : "";
    if (chain.problem) lines.push(`${name}  BROKEN  ${chain.problem.what} at row ${chain.problem.seq}${chain.problem.id !== null ? ` (id ${chain.problem.id})` : ""}: ${chain.problem.message}`);
    else lines.push(`${name}  ok      ${chain.rows_checked} rows${unsealed}${chain.head ? `; head: row ${chain.head.seq}, id ${chain.head.last_id}, mac ${chain.head.last_mac.slice(0, 16)}…` : ""}`);
  }
  const broken = report.chains.filter((c) => !c.ok).length;
  lines.push(
    broken === 0
      ? `${report.chains.length} chain(s) intact. Keep this run's --json output elsewhere: 'audit verify --against FILE' later finds a tail cut with its checkpoint.`
      : `${broken} of ${report.chains.length} chain(s) broken`,
  );
  return lines;
}
