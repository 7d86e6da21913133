/**
 * The isolate figures a worker's /metrics offers, whatever they are named:
 * every sample whose metric name mentions isolates, summed over its labels.
 * The cold-start count is the one whose name also says "created" (a counter
 * since the process started); null when /metrics has none, and the bench
 * then relies on count-isolates.cjs alone.
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
  const created = Object.entries(all).find(([name]) => name.includes("created"));
  return { all, created: created ? created[1] : null };
}
