/**
 * What the kernel says about one process (Linux /proc; null elsewhere):
 * its resident memory now and at its peak, and the CPU time of all its
 * threads, so a worker's figures are its own and not the bench's.
 */
import { readFileSync } from "node:fs";

export interface Memory {
  /** VmRSS: resident now, bytes. */
  rss: number;
  /** VmHWM: the most it was resident at once since it started, bytes (the kernel's own peak, not a sample). */
  peak: number;
}

export function memoryOf(pid: number): Memory | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return null;
  }
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status)?.[1] ?? NaN) * 1024;
  const rss = kib("VmRSS");
  const peak = kib("VmHWM");
  return Number.isNaN(rss) || Number.isNaN(peak) ? null : { rss, peak };
}

// utime + stime are in clock ticks; 100 a second on every Linux this runs on.
const MS_PER_TICK = 10;

/** CPU time of every thread of `pid` so far, ms. */
export function cpuMsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces: fields count from its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK;
  } catch {
    return null;
  }
}

export function formatMiB(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined ? "n/a" : `${Math.round(bytes / 2 ** 20).toLocaleString("en-US")} MiB`;
}
