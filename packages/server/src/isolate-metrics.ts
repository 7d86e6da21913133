import { DISPOSE_REASONS, type Executor } from "@switchyard/executor";
import { Counter, Gauge, type Registry } from "prom-client";

/**
 * The executor's isolates as Prometheus metrics, read at scrape time from
 * `executor.stats()`: the executor threads own the pools and send their
 * figures every 20 ms while they change, and with the outcomes that leave a
 * thread idle (threads/thread-main.ts). Their counts restart when a thread is replaced;
 * the counters here only ever add what grew since the last scrape.
 */
export function isolateMetrics(registry: Registry, executor: Pick<Executor, "stats">): void {
  new Gauge({
    name: "switchyard_executor_isolates",
    help: "App isolates held by this process's executor threads (warm, or cold with a run in them)",
    registers: [registry],
    collect() {
      this.set(executor.stats().isolates);
    },
  });
  new Gauge({
    name: "switchyard_executor_isolate_memory_bytes",
    help: "Memory the isolates hold (heap pages in memory and external allocations), the spares' included, as measured after their runs",
    registers: [registry],
    collect() {
      this.set(executor.stats().isolateBytes);
    },
  });
  new Gauge({
    name: "switchyard_executor_isolate_memory_budget_bytes",
    help: "What the warm isolates may hold (SWITCHYARD_ISOLATE_MEMORY_MB)",
    registers: [registry],
    collect() {
      this.set(executor.stats().isolateBudgetBytes);
    },
  });
  let created = 0;
  new Counter({
    name: "switchyard_executor_isolate_cold_starts_total",
    help: "App isolates made because a run found no warm isolate of its app",
    registers: [registry],
    collect() {
      const now = executor.stats().totals.isolatesCreated;
      if (now > created) this.inc(now - created);
      created = now;
    },
  });
  const disposed = Object.fromEntries(DISPOSE_REASONS.map((reason) => [reason, 0]));
  new Counter({
    name: "switchyard_executor_isolates_disposed_total",
    help: "App isolates disposed, by reason: idle, evicted (made room), not_admitted (a cold app's, the warm ones were used more), timeout, memory, runaway, shutdown",
    labelNames: ["reason"],
    registers: [registry],
    collect() {
      const totals = executor.stats().totals.isolatesDisposed;
      for (const reason of DISPOSE_REASONS) {
        const now = totals[reason];
        const before = disposed[reason] ?? 0;
        // Every reason is listed, 0 included.
        this.inc({ reason }, Math.max(0, now - before));
        disposed[reason] = now;
      }
    },
  });
}
