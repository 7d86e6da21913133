/**
 * Settings and first start of the embedded PGlite, sized for one process.
 *
 * PGlite 0.5.16 starts PostgreSQL with its stock settings (shared_buffers
 * 128MB), and its WebAssembly memory only ever grows. Two measured costs
 * follow (a dev server idle on a fresh data folder, resident memory):
 * - shared_buffers: a restarted instance idles at ~440 MB with 128MB, ~300 MB
 *   with 16MB. One process with a small working set needs no more.
 * - initdb: creating the cluster grows the wasm memory to ~840 MB in the
 *   process that runs it, and that memory is never given back. So a new data
 *   folder is created by a short-lived child process, and this process opens
 *   it as it would on any restart.
 * - compiled code: V8 compiles PostgreSQL's WebAssembly (~9 MB) with its
 *   baseline compiler, Liftoff, then recompiles the functions it finds hot
 *   with TurboFan in the background and keeps both. Opening a data folder
 *   and running one query: ~100 MB more resident with tier-up, ~67 MB with
 *   Liftoff only (3 runs each), and a claim on the outbox took no longer
 *   (8.2–8.9 ms p50 either way; with tier-up its worst case was 20–24 ms,
 *   the compiles competing for the cores). So the embedded database runs
 *   with Liftoff only: see `openEmbedded`.
 */
import { fork } from "node:child_process";
import { setFlagsFromString } from "node:v8";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";

/** PostgreSQL settings for the embedded database, beyond PGlite's own defaults. */
export const EMBEDDED_SETTINGS: Readonly<Record<string, string>> = {
  shared_buffers: "16MB",
  temp_buffers: "2MB",
  work_mem: "2MB",
  maintenance_work_mem: "16MB",
  wal_buffers: "1MB",
};

/** PGlite's start parameters with EMBEDDED_SETTINGS added (later `-c` wins). */
export function embeddedStartParams(): string[] {
  const ours = Object.entries(EMBEDDED_SETTINGS).flatMap(([name, value]) => ["-c", `${name}=${value}`]);
  return [...PGlite.defaultStartParams, ...ours];
}

/** Whether `dataDir` already holds a PostgreSQL cluster. */
export function hasCluster(dataDir: string): boolean {
  return existsSync(join(dataDir, "PG_VERSION"));
}

/**
 * Creates the cluster in `dataDir` from a child process, when there is none
 * yet, so that initdb's memory dies with the child (see the file comment).
 */
export async function initClusterApart(dataDir: string): Promise<void> {
  if (hasCluster(dataDir)) return;
  const child = fork(fileURLToPath(new URL("./embedded-initdb.mjs", import.meta.url)), [dataDir], {
    stdio: ["ignore", "ignore", "pipe", "ipc"],
    execArgv: [],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (exitCode) => resolve(exitCode));
  });
  if (code !== 0 || !hasCluster(dataDir)) {
    throw new Error(`creating the embedded database in ${dataDir} failed (exit ${code}): ${stderr.trim() || "no output"}`);
  }
}

/**
 * Opens the embedded database in `dataDir` (in memory without one), creating
 * the cluster apart first when the folder holds none. V8 is told to keep
 * WebAssembly on its baseline compiler (see the file comment) before PGlite
 * compiles its module. The flag is process-wide: in a process on the
 * embedded database a script's own WebAssembly stays on Liftoff too (slower
 * for long computations; the same answers, up to NaN bit patterns), and
 * V8 treats a function Liftoff cannot compile as a fatal error instead of
 * handing it to TurboFan. Node 20's Liftoff compiles every feature V8 ships
 * enabled on x64 and arm64; an `--experimental-wasm-*` flag could change
 * that. A process on PostgreSQL never sets it.
 */
export async function openEmbedded(dataDir?: string): Promise<PGlite> {
  if (dataDir) await initClusterApart(dataDir);
  setFlagsFromString("--liftoff-only");
  return PGlite.create({ ...(dataDir ? { dataDir } : {}), startParams: embeddedStartParams() });
}
