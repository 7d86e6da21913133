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
