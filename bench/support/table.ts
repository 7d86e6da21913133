import { formatNs, formatRate, opsPerSecond, type Summary } from "./stats.ts";
/**
 * Renders rows as a plain-text table, columns padded to their widest cell;
 * columns listed in `alignRight` (by index) are right-aligned, for numbers.
 *
 * @example
 * console.log(renderTable(["case", "p50"], [["bare open", "1.20 µs"]], [1]));
 */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[], alignRight: readonly number[] = []): string {
  const all = [header, ...rows];
  const widths = header.map((_, col) => Math.max(...all.map((row) => [...(row[col] ?? "")].length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, col) => {
        const pad = " ".repeat((widths[col] ?? 0) - [...cell].length);
        return alignRight.includes(col) ? pad + cell : cell + pad;
      })
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(header), rule, ...rows.map(line)].join("\n");
}

/** The results table every bench prints: case, how it was timed, samples, p50, p99, ops/s. */
export function renderSummaryTable(results: ReadonlyMap<string, Summary>): string {
  const rows = [...results].map(([name, s]) => [
    name,
    s.ops === s.samples ? "each call" : `batches of ${s.ops / s.samples}`,
    String(s.samples),
    formatNs(s.p50),
    formatNs(s.p99),
    formatRate(opsPerSecond(s)),
  ]);
  return renderTable(["case", "timed", "samples", "p50", "p99", "ops/s"], rows, [2, 3, 4, 5]);
}
