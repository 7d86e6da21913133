/**
 * A real `switchyard serve --role all` process on PostgreSQL, started as an
 * operator starts it (executor threads and worker concurrency at their
 * defaults unless the bench's own environment sets them), with the admin API
 * reached over HTTP with the bootstrap token it prints.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { adminApi, stopChild, waitForStart } from "../support/serve-child.ts";
import { postgresFilter } from "../support/cpu-meter.ts";

const BIN = fileURLToPath(new URL("../../packages/server/bin/switchyard.mjs", import.meta.url));

export interface ServeProcess {
  url: string;
  pid: number;
  /** Calls the admin API with the bootstrap token; throws unless it answers `expect`. */
  api<T>(method: string, path: string, body: unknown, expect: number): Promise<T>;
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

/** The variables passed through from the bench's environment (to try other settings). */
const PASSED = ["SWITCHYARD_EXECUTOR_THREADS", "SWITCHYARD_WORKER_CONCURRENCY", "SWITCHYARD_SCRIPT_CPU_MS"];

export async function startServe(env: { databaseUrl: string; masterKey: string }): Promise<ServeProcess> {
  const passed = Object.fromEntries(PASSED.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k] as string]));
  const child = spawn(process.execPath, ["--no-node-snapshot", BIN, "serve", "--role", "all", "--port", "0"], {
    env: { PATH: process.env.PATH, DATABASE_URL: env.databaseUrl, SWITCHYARD_MASTER_KEY: env.masterKey, SWITCHYARD_LOG_LEVEL: "warn", ...passed },
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(child);
  child.once("exit", () => live.delete(child));
  let output = "";
  const keep = (chunk: Buffer) => {
    output += chunk.toString("utf8");
    if (output.length > 64_000) output = output.slice(-16_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const stop = () => stopChild(child);
  try {
    const { url, token } = await waitForStart(child, () => output, true);
    const api = adminApi(url, token);
    return { url, pid: child.pid as number, api, stop, tail: () => output.slice(-2000) };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Per thread, from /proc/<pid>/task/<tid>/schedstat: ns on a CPU, ns runnable but waiting for one, and times it was scheduled in. */
export interface ThreadSched {
  cpuNs: number;
  waitNs: number;
  slices: number;
}

/** The scheduler's counts of each thread of process `pid` (empty where /proc or schedstat is missing). */
export function threadSched(pid: number): Map<string, ThreadSched> {
  const out = new Map<string, ThreadSched>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const [cpuNs, waitNs, slices] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").trim().split(" ").map(Number);
      out.set(tid, { cpuNs: cpuNs ?? 0, waitNs: waitNs ?? 0, slices: slices ?? 0 });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

export interface ThreadShare {
  tid: string;
  main: boolean;
  /** Share of one core it ran on over the interval, 0..1. */
  cpu: number;
  /** Share of the interval it was runnable (running, or waiting for a CPU), 0..1: a busy loop is ~1 however crowded the machine. */
  runnable: number;
  /** Mean wait for a CPU each time it was scheduled in, ms. */
  waitPerSliceMs: number;
}

/** Each thread's figures between two readings `seconds` apart, the most runnable first (the main thread is the one whose tid is the pid). */
export function threadShares(pid: number, from: Map<string, ThreadSched>, to: Map<string, ThreadSched>, seconds: number): ThreadShare[] {
  return [...to]
    .map(([tid, b]) => {
      const a = from.get(tid) ?? { cpuNs: 0, waitNs: 0, slices: 0 };
      const slices = b.slices - a.slices;
      return {
        tid,
        main: tid === String(pid),
        cpu: (b.cpuNs - a.cpuNs) / 1e9 / seconds,
        runnable: (b.cpuNs - a.cpuNs + b.waitNs - a.waitNs) / 1e9 / seconds,
        waitPerSliceMs: slices > 0 ? (b.waitNs - a.waitNs) / 1e6 / slices : 0,
      };
    })
    .sort((x, y) => y.runnable - x.runnable);
}

/**
 * The event loop figures prom-client's default metrics hold for the interval
 * since the previous scrape (it resets them at each scrape), less its 10 ms
 * sampling interval: Node's histogram records the time between two samples,
 * so an idle loop reads ~10 ms.
 */
export interface LoopLag {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const PROM_CLIENT_RESOLUTION_MS = 10;

export async function scrapeLoopLag(url: string): Promise<LoopLag> {
  const res = await fetch(`${url}/metrics`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`bench: /metrics answered ${res.status}`);
  const read = (name: string) => {
    const match = new RegExp(`^switchyard_nodejs_eventloop_lag_${name}_seconds (\\S+)$`, "m").exec(text);
    if (!match) throw new Error(`bench: /metrics has no switchyard_nodejs_eventloop_lag_${name}_seconds`);
    return Math.max(0, Number(match[1]) * 1000 - PROM_CLIENT_RESOLUTION_MS);
  };
  return { p50Ms: read("p50"), p99Ms: read("p99"), maxMs: read("max") };
}

/**
 * The scheduler's counts summed over this machine's PostgreSQL processes
 * (null when none is visible: a remote server). A pid's name is read once.
 */
export function postgresSched(): () => ThreadSched | null {
  const isPostgres = postgresFilter();
  return () => {
    let ids: string[];
    try {
      ids = readdirSync("/proc");
    } catch {
      return null;
    }
    const sum: ThreadSched = { cpuNs: 0, waitNs: 0, slices: 0 };
    let seen = 0;
    for (const id of ids) {
      if (!/^\d+$/.test(id)) continue;
      if (!isPostgres(id)) continue;
      try {
        const [cpuNs, waitNs, slices] = readFileSync(`/proc/${id}/schedstat`, "utf8").trim().split(" ").map(Number);
        sum.cpuNs += cpuNs ?? 0;
        sum.waitNs += waitNs ?? 0;
        sum.slices += slices ?? 0;
        seen++;
      } catch {
        // It exited meanwhile.
      }
    }
    return seen > 0 ? sum : null;
  };
}
