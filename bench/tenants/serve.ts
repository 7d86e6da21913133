/**
 * One real `switchyard serve` process with its default settings (role all,
 * executor threads, concurrency, isolate pool, log level), on PostgreSQL
 * (`DATABASE_URL`) or on the embedded PGlite in a data folder, with
 * count-isolates.cjs preloaded so every isolate it makes is counted. The
 * admin API is reached with the bootstrap token a fresh database prints.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { adminApi, stopChild, waitForStart } from "../support/serve-child.ts";

const BIN = fileURLToPath(new URL("../../packages/server/bin/switchyard.mjs", import.meta.url));
const COUNTER = fileURLToPath(new URL("./count-isolates.cjs", import.meta.url));
const ISOLATE_LINE = "switchyard-bench: isolate created";

export type Storage = { databaseUrl: string } | { dataDir: string };

export interface ServeProcess {
  url: string;
  pid: number;
  /** Calls the admin API with the bootstrap token (a fresh database only); throws unless it answers `expect`. */
  api<T>(method: string, path: string, body: unknown, expect: number): Promise<T>;
  /** Isolates the process has constructed so far (count-isolates.cjs). */
  isolatesCreated(): number;
  /** SIGTERM, SIGKILL after 10 s; resolves with the exit code (null when killed). */
  stop(): Promise<number | null>;
  /** The last output it wrote, for a failure's message. */
  tail(): string;
}

/** Every serve process started and not yet exited, so a Ctrl-C can stop one still starting. */
const live = new Set<ChildProcess>();

/** Stops every serve process this bench started that is still running. */
export async function stopAllServe(): Promise<void> {
  await Promise.all([...live].map(stopChild));
}

/** `withToken`: wait for the bootstrap token too (only a fresh database prints one). */
export async function startServe(storage: Storage, masterKey: string, withToken: boolean): Promise<ServeProcess> {
  const where = "databaseUrl" in storage ? { DATABASE_URL: storage.databaseUrl } : { SWITCHYARD_DATA_DIR: storage.dataDir };
  // The bin runs its CLI in this process when --no-node-snapshot is already given, so the pid is the server's own.
  const child = spawn(process.execPath, ["--no-node-snapshot", "--require", COUNTER, BIN, "serve", "--port", "0"], {
    env: { PATH: process.env.PATH, SWITCHYARD_MASTER_KEY: masterKey, ...where },
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(child);
  child.once("exit", () => live.delete(child));
  let output = "";
  let isolates = 0;
  let partial = "";
  const keep = (text: string) => {
    output += text;
    if (output.length > 64_000) output = output.slice(-16_000);
  };
  child.stdout?.on("data", (chunk: Buffer) => keep(chunk.toString("utf8")));
  child.stderr?.on("data", (chunk: Buffer) => {
    const lines = (partial + chunk.toString("utf8")).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      if (line === ISOLATE_LINE) isolates++;
      else keep(`${line}\n`);
    }
  });
  const stop = () => stopChild(child);
  try {
    const { url, token } = await waitForStart(child, () => output, withToken);
    const api = adminApi(url, token);
    return { url, pid: child.pid as number, api, isolatesCreated: () => isolates, stop, tail: () => output.slice(-2000) };
  } catch (error) {
    await stop();
    throw error;
  }
}

