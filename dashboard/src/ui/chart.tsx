import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface ChartSeries {
  label: string;
  values: Array<number | null>;
  color: string;
  /** A dashed line, so two series differ by more than their colour. */
  dashed?: boolean;
}

export interface ChartProps {
  /** The chart's name: its figure's caption and the heading screen readers list. */
  title: string;
  /** The chart in words (totals, latest values): what a screen reader reads instead of the canvas. */
  summary: string;
  /** Bucket starts, seconds since the epoch. */
  times: number[];
  series: ChartSeries[];
  /** Formats values on the axis and in the legend (default: whole numbers). */
  format?: (value: number) => string;
  height?: number;
}

const whole = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1));

/**
 * A time series chart drawn by uPlot on a canvas, as wide as its box (it
 * follows the box when the window or the layout changes). The canvas is
 * hidden from assistive technology: the caption names the chart and the
 * summary says its figures in words; the legend under the chart shows the
 * values under the pointer.
 */
export function Chart({ title, summary, times, series, format = whole, height = 170 }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      // A point's value reads in the legend; dragging to zoom would only lose the window.
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      legend: { live: true },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, niceMax(max)] } },
      axes: [
        { stroke: "#5b6470", grid: { stroke: "#eceff3" }, ticks: { stroke: "#d9dee4" } },
        { stroke: "#5b6470", grid: { stroke: "#eceff3" }, ticks: { stroke: "#d9dee4" }, size: 48, values: (_u, ticks) => ticks.map(format) },
      ],
      series: [
        { label: "Time" },
        ...series.map(
          (s, i): uPlot.Series => ({
            label: s.label,
            stroke: s.color,
            // Each series a little thinner than the one before: two series with
            // the same counts (1 sent, 1 failed) show as a line inside a line.
            width: Math.max(1.5, 4 - i * 1.2),
            ...(s.dashed ? { dash: [6, 4] } : {}),
            // Lines join neighbours; a value with gaps on both sides (one queue sample) would draw nothing without its point.
            points: { show: true, size: 5, filter: isolated },
            // A bucket nobody sampled stays a gap, not a zero.
            spanGaps: false,
            value: (_u, v) => (v === null || v === undefined ? "—" : format(v)),
          }),
        ),
      ],
    };
    const plot = new uPlot(opts, [times, ...series.map((s) => s.values)], el);
    const resize = new ResizeObserver(() => {
      const width = Math.max(200, el.clientWidth);
      if (width !== plot.width) plot.setSize({ width, height });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [times, series, format, height]);

  return (
    <figure class="chart">
      <figcaption>
        <h2>{title}</h2>
        <p class="chart-summary">{summary}</p>
      </figcaption>
      <div class="chart-plot" ref={box} aria-hidden="true" />
    </figure>
  );
}

/** The top of the axis: at least 1 (an all-zero chart still has a scale), else a little above the highest value. */
function niceMax(max: number | null): number {
  if (max === null || !Number.isFinite(max) || max <= 0) return 1;
  const step = 10 ** Math.floor(Math.log10(max));
  return Math.ceil((max * 1.1) / step) * step;
}

/** The indices of values with no value beside them. */
function isolated(u: uPlot, seriesIdx: number): number[] {
  const values = u.data[seriesIdx] ?? [];
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (values[i] !== null && values[i] !== undefined && (values[i - 1] ?? null) === null && (values[i + 1] ?? null) === null) out.push(i);
  }
  return out;
}
