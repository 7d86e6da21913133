/**
 * The isolate figures a worker's /metrics offers, whatever they are named:
 * every sample whose metric name mentions isolates, summed over its labels.
 * The cold-start count is the counter whose name says "cold_starts" (the
 * server's switchyard_executor_isolate_cold_starts_total) or "created"; null
 * when /metrics has none, and the bench then relies on count-isolates.cjs.
 */
export interface IsolateMetrics {
  /** Metric name → value, summed over label sets. */
  all: Record<string, number>;
  created: number | null;
}

export async function scrapeIsolateMetrics(url: string): Promise<IsolateMetrics> {
  const res = await fetch(`${url}/metrics`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`bench: /metrics answered ${res.status}`);
  const all: Record<string, number> = {};
  for (const match of text.matchAll(/^(switchyard_\w*isolate\w*)(?:\{[^}]*\})? (\S+)$/gm)) {
    const [, name, value] = match as unknown as [string, string, string];
    all[name] = (all[name] ?? 0) + Number(value);
  }
  const created = Object.entries(all).find(([name]) => name.includes("cold_starts") || name.includes("created"));
  return { all, created: created ? created[1] : null };
}
