import type { Subrequest } from "@switchyard/executor";
import type { FetchClient } from "@switchyard/egress";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/**
 * Scripts' fetches as Prometheus metrics, counted from each run's
 * `subrequests` as the run record lists them, so the refusals the executor
 * decides itself (the subrequest limit) count beside the host's; and the
 * response bytes the process holds now, against SWITCHYARD_FETCH_MAX_BUFFERED_BYTES.
 */
export function fetchMetrics(registry: Registry, client: Pick<FetchClient, "bufferedBytes">): (subrequests: readonly Subrequest[]) => void {
  new Gauge({
    name: "switchyard_fetch_buffered_bytes",
    help: "Bytes of script fetch response bodies held by this process now (SWITCHYARD_FETCH_MAX_BUFFERED_BYTES caps it)",
    registers: [registry],
    collect() {
      this.set(client.bufferedBytes());
    },
  });
  const requests = new Counter({
    name: "switchyard_fetch_requests_total",
    help: "Script fetches by outcome (ok, or the code it failed with: egress_denied, egress_limit, egress_timeout, ...)",
    labelNames: ["outcome"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "switchyard_fetch_duration_seconds",
    help: "Time of one script fetch, from the call to its response or failure",
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return (subrequests) => {
    for (const sub of subrequests) {
      requests.inc({ outcome: sub.outcome });
      duration.observe(sub.duration_ms / 1000);
    }
  };
}
