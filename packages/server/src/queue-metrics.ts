import { oldestDueSeconds, outboxDepth, type Database } from "@switchyard/core";
import type { DispatcherObserver } from "@switchyard/dispatcher";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/**
 * The outbox and dispatcher as Prometheus metrics: depth and age of the oldest
 * due event (read from the database at scrape time, so every process reports
 * the shared queue), and this process's claims and completions.
 */
export function queueMetrics(registry: Registry, database: Database): DispatcherObserver {
  new Gauge({
    name: "switchyard_outbox_depth",
    help: "Events waiting in the outbox (due or scheduled for a retry)",
    registers: [registry],
    async collect() {
      this.set(await outboxDepth(database.db));
    },
  });
  new Gauge({
    name: "switchyard_outbox_oldest_due_seconds",
    help: "Age of the oldest event that is due and not running",
    registers: [registry],
    async collect() {
      this.set(await oldestDueSeconds(database.db));
    },
  });
  const batches = new Histogram({
    name: "switchyard_claim_batch_size",
    help: "Events claimed per claim",
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers: [registry],
  });
  const completions = new Counter({
    name: "switchyard_run_completions_total",
    help: "Attempts completed, by run status (ok, error, timeout, oom, none) and what happened to their event (done, retrying, dead_lettered, dropped, lost)",
    labelNames: ["status", "result"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "switchyard_run_duration_seconds",
    help: "Time from claim to recorded completion of one attempt",
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  });
  return {
    claimed: (n) => batches.observe(n),
    completed(result, status, seconds) {
      completions.inc({ status: status ?? "none", result });
      duration.observe(seconds);
    },
  };
}
