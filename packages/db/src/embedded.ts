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
 */
import { fork } from "node:child_process";
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
