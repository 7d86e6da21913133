/**
 * Real worker processes (`switchyard serve --role worker`), started the way an
 * operator starts them, against one PostgreSQL database.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../packages/server/bin/switchyard.mjs", import.meta.url));
const READY_TIMEOUT_MS = 60_000;

export interface WorkerFleet {
  /** Stops every process (SIGTERM, then SIGKILL after a grace period) and waits for them. */
  stop(): Promise<void>;
}

/**
 * Starts `count` worker processes and resolves once each has logged that it
 * started (migrations checked, claim loop running), so a drain never counts a
 * process's start-up.
 */
export async function startWorkers(count: number, env: { databaseUrl: string; masterKey: string; concurrency: number }): Promise<WorkerFleet> {
  const children: ChildProcess[] = [];
  const fleet: WorkerFleet = {
    async stop() {
      await Promise.all(children.map(stopChild));
    },
  };
  try {
    await Promise.all(
      Array.from({ length: count }, () => {
        const child = spawn(process.execPath, ["--no-node-snapshot", BIN, "serve", "--role", "worker"], {
          env: {
            PATH: process.env.PATH,
            DATABASE_URL: env.databaseUrl,
            SWITCHYARD_MASTER_KEY: env.masterKey,
            SWITCHYARD_WORKER_CONCURRENCY: String(env.concurrency),
            SWITCHYARD_LOG_LEVEL: "info",
          },
          stdio: ["ignore", "pipe", "pipe"],
        });
        children.push(child);
        return waitForStart(child);
      }),
    );
  } catch (error) {
    await fleet.stop();
    throw error;
  }
  return fleet;
}

function waitForStart(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`bench: a worker did not start within ${READY_TIMEOUT_MS} ms:\n${seen.slice(-2000)}`)), READY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString("utf8");
      if (seen.includes("switchyard started")) {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        // Keep draining its output so a full pipe never blocks the process.
        child.stdout?.resume();
        resolve();
      }
      if (seen.length > 64_000) seen = seen.slice(-16_000);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => {
      seen += chunk.toString("utf8");
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`bench: a worker exited (${code ?? signal}) before it started:\n${seen.slice(-2000)}`));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
