/**
 * CPU time spent while a measured section runs, split where it goes: this
 * process's main thread, its other threads (isolates, V8's GC and compiler
 * helpers, libuv), and the PostgreSQL server's processes when it runs on
 * this machine. Jobs per second swing ±15% on a shared machine; CPU per job
 * swings far less, so it is the figure to compare two versions by.
 *
 * Linux only (it reads /proc); elsewhere every figure is null. Backends that
 * exit during the section (a worker closing its pool) are caught by sampling
 * every 20 ms: each process counts from its first sighting (0 for one born
 * during the section) to its last.
 *
 * @example
 * const meter = startCpuMeter();
 * await work();
 * const cpu = meter.stop(); // { mainUs, otherThreadsUs, postgresUs }
 */
import { readdirSync, readFileSync } from "node:fs";

export interface CpuSplit {
  mainUs: number | null;
  otherThreadsUs: number | null;
  /** Null when no PostgreSQL process is visible here (a remote server). */
  postgresUs: number | null;
}

// utime + stime are in clock ticks; 100 a second on every Linux this runs on.
const US_PER_TICK = 10_000;

/** utime + stime of one /proc stat file, in µs (the command name may hold spaces, so fields count from its closing parenthesis). */
function cpuOf(path: string): number | null {
  try {
    const stat = readFileSync(path, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * US_PER_TICK;
  } catch {
    return null;
  }
}

function readAll(dir: string, keep: (id: string) => boolean): Map<string, number> {
  const out = new Map<string, number>();
  let ids: string[];
  try {
    ids = readdirSync(dir);
  } catch {
    return out;
  }
  for (const id of ids) {
    if (!/^\d+$/.test(id) || !keep(id)) continue;
    const cpu = cpuOf(`${dir}/${id}/stat`);
    if (cpu !== null) out.set(id, cpu);
  }
  return out;
}

/**
 * Whether a pid is a PostgreSQL process, each pid's name read once: reading
 * every process's name on every sample cost the measured main thread ~10%
 * of a core on a 2-core machine (a pid is not reused within a bench).
 */
export function postgresFilter(): (pid: string) => boolean {
  const known = new Map<string, boolean>();
  return (pid) => {
    let is = known.get(pid);
    if (is === undefined) {
      try {
        is = readFileSync(`/proc/${pid}/comm`, "utf8").startsWith("postgres");
      } catch {
        is = false;
      }
      known.set(pid, is);
    }
    return is;
  };
}

/** Starts measuring; `stop()` answers the split since then. */
export function startCpuMeter(): { stop(): CpuSplit } {
  const threads = () => readAll("/proc/self/task", () => true);
  const isPostgres = postgresFilter();
  const postgres = () => readAll("/proc", isPostgres);
  const first = { threads: threads(), postgres: postgres() };
  const last = { threads: new Map(first.threads), postgres: new Map(first.postgres) };
  const sample = () => {
    for (const [id, cpu] of threads()) last.threads.set(id, cpu);
    for (const [id, cpu] of postgres()) last.postgres.set(id, cpu);
  };
  const timer = setInterval(sample, 20);
  timer.unref();
  const spent = (from: Map<string, number>, to: Map<string, number>, only?: (id: string) => boolean) => {
    let total = 0;
    for (const [id, cpu] of to) if (!only || only(id)) total += cpu - (from.get(id) ?? 0);
    return total;
  };
  return {
    stop() {
      clearInterval(timer);
      sample();
      if (first.threads.size === 0) return { mainUs: null, otherThreadsUs: null, postgresUs: null };
      const main = String(process.pid);
      return {
        mainUs: spent(first.threads, last.threads, (id) => id === main),
        otherThreadsUs: spent(first.threads, last.threads, (id) => id !== main),
        postgresUs: last.postgres.size === 0 ? null : spent(first.postgres, last.postgres),
      };
    },
  };
}
