/**
 * bench:embedded: what `npm run dev` costs while idle (issue #18: at most
 * 300 MB resident, on a fresh data folder and on a restart). The server is
 * started exactly as the root package.json's `serve:dev` script starts it
 * (its Node flags are read from there), on a new data folder and then again
 * on the same one, left idle, and its resident memory read from /proc. The
 * peer is the same command on a scratch PostgreSQL database (no PGlite in
 * the process), measured in the same run.
 *
 * @example
 * pnpm --filter @switchyard/bench bench:embedded           # 3 rounds, 25 s idle each
 * pnpm --filter @switchyard/bench bench:embedded --quick   # 1 round, 10 s idle
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { machineInfo } from "../support/machine.ts";
import { parseBenchOptions } from "../support/options.ts";
import { createScratchDatabase } from "../support/scratch-postgres.ts";
import { stopChild, waitForStart } from "../support/serve-child.ts";
import { renderTable } from "../support/table.ts";

const USAGE = `usage: bench:embedded [--quick] [--rounds N] [--idle-s N] [--url URL] [--json]
  --quick    one round, 10 s idle (rough figures)
  --rounds   rounds of (fresh, restart, PostgreSQL peer) (default 3)
  --idle-s   seconds each server idles before its memory is read (default 25)
  --url      PostgreSQL to create the peer's scratch database on (default postgres://postgres@127.0.0.1:5432/postgres)
  --json     one JSON object on stdout`;

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BIN = "packages/server/bin/switchyard.mjs";
const TARGET_MB = 300;

type Kind = "fresh" | "restart" | "postgres";

/** The Node flags `npm run dev` starts the server with, read from the root package.json's `serve:dev`. */
async function devNodeFlags(): Promise<string[]> {
  const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { scripts?: Record<string, string> };
  const script = pkg.scripts?.["serve:dev"] ?? "";
  // The command after the dashboard build: `node`, flags of the form --name or --name=value, the bin, `serve --dev`.
  const match = /(?:^|&&\s*)node((?:\s+--[^\s=]+(?:=\S+)?)*)\s+packages\/server\/bin\/switchyard\.mjs\s+serve\s+--dev(?=\s|$)/.exec(script);
  if (!match) throw new Error(`bench: cannot find "node [--flags] ${BIN} serve --dev" in serve:dev: ${JSON.stringify(script)}`);
  return (match[1] ?? "").trim().split(/\s+/).filter(Boolean);
}

/** Starts the dev server, lets it idle `idleMs`, answers its resident MB (VmRSS), and stops it. */
async function idleRss(flags: string[], env: Record<string, string>, idleMs: number): Promise<number> {
  // Only PATH and the bench's variables: the same environment every run, whatever the shell holds.
  const child = spawn(process.execPath, [...flags, BIN, "serve", "--dev", "--port", "0"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  current = child;
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-16_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  try {
    await waitForStart(child, () => output, false);
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    const status = await readFile(`/proc/${child.pid}/status`, "utf8");
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    if (!Number.isFinite(kb)) throw new Error(`bench: no VmRSS in /proc/${child.pid}/status`);
    return kb / 1024;
  } finally {
    await stopChild(child);
    current = null;
  }
}

/** The server being measured, and what a Ctrl-C must remove: stopped and dropped by `cleanUp`. */
let current: ChildProcess | null = null;
const leftovers = new Set<() => Promise<void>>();

async function cleanUp(): Promise<void> {
  if (current) await stopChild(current);
  await Promise.allSettled([...leftovers].map((drop) => drop()));
}

async function main(): Promise<void> {
  const options = parseBenchOptions(
    () =>
      parseArgs({
        options: {
          quick: { type: "boolean" },
          rounds: { type: "string" },
          "idle-s": { type: "string" },
          url: { type: "string" },
          json: { type: "boolean" },
          help: { type: "boolean", short: "h" },
        },
        strict: true,
      }).values,
    USAGE,
  );
  if (!options) return;
  const quick = options.quick === true;
  const rounds = Number(options.rounds ?? (quick ? 1 : 3));
  const idleMs = 1000 * Number(options["idle-s"] ?? (quick ? 10 : 25));
  if (!Number.isInteger(rounds) || rounds < 1 || !(idleMs > 0)) {
    console.error(`--rounds must be a positive integer and --idle-s positive\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (process.platform !== "linux") {
    console.error("bench:embedded reads resident memory from /proc: Linux only");
    process.exitCode = 2;
    return;
  }
  const onSignal = (signal: NodeJS.Signals) => {
    void cleanUp().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const flags = await devNodeFlags();
  const say = (line: string) => {
    if (options.json !== true) console.log(line);
  };
  say(`npm run dev's server: node ${flags.join(" ")} ${BIN} serve --dev; ${rounds} round(s), ${idleMs / 1000} s idle each`);
  const figures: Record<Kind, number[]> = { fresh: [], restart: [], postgres: [] };
  for (let round = 1; round <= rounds; round++) {
    const folder = await mkdtemp(join(tmpdir(), "sy-bench-embedded-"));
    const removeFolder = () => rm(folder, { recursive: true, force: true });
    leftovers.add(removeFolder);
    let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | null = null;
    try {
      scratch = await createScratchDatabase(options.url ?? "postgres://postgres@127.0.0.1:5432/postgres", "sy_bench_embedded");
      leftovers.add(scratch.drop);
      const dataEnv = { SWITCHYARD_DATA_DIR: folder };
      figures.fresh.push(await idleRss(flags, dataEnv, idleMs));
      say(`round ${round}: fresh data folder ${figures.fresh.at(-1)?.toFixed(0)} MB`);
      figures.restart.push(await idleRss(flags, dataEnv, idleMs));
      say(`round ${round}: restart ${figures.restart.at(-1)?.toFixed(0)} MB`);
      figures.postgres.push(await idleRss(flags, { ...dataEnv, DATABASE_URL: scratch.url }, idleMs));
      say(`round ${round}: PostgreSQL peer ${figures.postgres.at(-1)?.toFixed(0)} MB`);
    } finally {
      if (scratch) {
        await scratch.drop();
        leftovers.delete(scratch.drop);
      }
      await removeFolder();
      leftovers.delete(removeFolder);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const peer = median(figures.postgres);
  const rows = (["fresh", "restart"] as const).map((kind) => {
    const mb = median(figures[kind]);
    return { kind, medianMb: mb, maxMb: Math.max(...figures[kind]), vsPostgres: mb / peer, pass: Math.max(...figures[kind]) <= TARGET_MB };
  });
  if (options.json === true) {
    console.log(JSON.stringify({ machine: machineInfo(), flags, idleMs, figures, peerMedianMb: peer, rows, targetMb: TARGET_MB }));
    return;
  }
  console.log("");
  console.log(
    renderTable(
      ["server", "resident MB (median)", "max", "vs PostgreSQL peer", `target ≤ ${TARGET_MB} MB (max)`],
      [
        ...rows.map((r) => [`embedded, ${r.kind === "fresh" ? "fresh data folder" : "restart"}`, r.medianMb.toFixed(0), r.maxMb.toFixed(0), `${r.vsPostgres.toFixed(2)}×`, r.pass ? "PASS" : "MISS"]),
        ["PostgreSQL peer (same command, DATABASE_URL)", peer.toFixed(0), Math.max(...figures.postgres).toFixed(0), "1.00×", ""],
      ],
      [1, 2, 3],
    ),
  );
  if (quick) console.log("A quick run is one round: take its verdicts as rough.");
}

main().catch(async (error: unknown) => {
  console.error("bench/embedded failed:", error);
  await cleanUp();
  process.exitCode = 1;
});
