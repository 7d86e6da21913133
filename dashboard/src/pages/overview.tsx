import { useEffect, useMemo } from "preact/hooks";
import { loadStats, type Stats, type StatsWindow } from "../api/stats.ts";
import type { App } from "../api/types.ts";
import { setQuery, useLocation } from "../router.ts";
import { Chart, type ChartSeries } from "../ui/chart.tsx";
import { ErrorText, Loading } from "../ui/bits.tsx";
import { useLoad } from "../ui/hooks.ts";
import "../styles/overview.css";

const WINDOWS: Array<{ id: StatsWindow; label: string }> = [
  { id: "1h", label: "Last hour" },
  { id: "24h", label: "Last day" },
];
/** The last bucket fills as runs finish: a minute's bucket is worth a look every 15 s, a quarter-hour's every minute. */
const REFRESH_MS: Record<StatsWindow, number> = { "1h": 15_000, "24h": 60_000 };

// The dashboard's own palette (base.css), one hue per meaning across charts.
const GREEN = "#1a7f37";
const RED = "#b42318";
const AMBER = "#b35c00";
const PURPLE = "#7a3eb1";
const BLUE = "#0b5cad";
const NAVY = "#1f4e79";

const total = (values: Array<number | null>) => values.reduce<number>((a, v) => a + (v ?? 0), 0);
const highest = (values: Array<number | null>) => values.reduce<number | null>((a, v) => (v === null ? a : a === null ? v : Math.max(a, v)), null);
const latest = (values: Array<number | null>) => [...values].reverse().find((v) => v !== null) ?? null;
const ms = (v: number | null) => (v === null ? "—" : v >= 1000 ? `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)} s` : `${Math.round(v)} ms`);
const secs = (v: number | null) => (v === null ? "—" : v >= 120 ? `${Math.round(v / 60)} min` : `${v < 10 ? v.toFixed(1) : Math.round(v)} s`);
const percent = (part: number, whole: number) => (whole === 0 ? "" : ` (${((100 * part) / whole).toFixed(part * 100 < whole ? 1 : 0)}%)`);
const axisMs = (v: number) => (v >= 1000 ? `${+(v / 1000).toFixed(1)}s` : `${+v.toFixed(1)}`);
const axisSecs = (v: number) => (v >= 120 ? `${Math.round(v / 60)}m` : `${+v.toFixed(1)}`);

/**
 * The operator's view: runs by status, durations, the queue, dead letters,
 * mail and inbound requests as charts over the last hour or day, for one
 * app or (no app) for every app the token may see. The window is in the
 * address (`?window=24h`), so a link keeps it.
 */
export function OverviewPage({ app }: { app: App | null }) {
  const location = useLocation();
  const window: StatsWindow = location.query.get("window") === "24h" ? "24h" : "1h";
  const loaded = useLoad(() => loadStats(app?.id ?? null, window), [app?.id, window]);
  const { reload } = loaded;
  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") void reload();
    }, REFRESH_MS[window]);
    return () => clearInterval(timer);
  }, [reload, window]);
  const data = loaded.data;

  return (
    <>
      <div class="page-head overview-head">
        <div>
          <h1>{app ? "Overview" : "Overview of all apps"}</h1>
          <p class="muted">
            {app ? `What ${app.name} did` : data?.workspace_id ? "What the apps of your workspace did" : "What every app did"}
            {data ? `, ${data.bucket_seconds === 60 ? "minute by minute" : "by quarter of an hour"}, up to ${new Date(data.to).toLocaleTimeString()}` : ""}.
          </p>
        </div>
        <div class="segmented" role="group" aria-label="Window">
          {WINDOWS.map((w) => (
            <button key={w.id} type="button" aria-pressed={window === w.id} onClick={() => setQuery({ window: w.id === "1h" ? undefined : w.id })}>
              {w.label}
            </button>
          ))}
        </div>
      </div>
      <Loading when={loaded.loading && !data} />
      <ErrorText error={loaded.error} />
      {data && <Figures stats={data} />}
    </>
  );
}

function Figures({ stats }: { stats: Stats }) {
  const t = stats.totals;
  const per = stats.bucket_seconds === 60 ? "per minute" : "per 15 minutes";
  const span = stats.window === "1h" ? "in the last hour" : "in the last day";
  const times = useMemo(() => stats.buckets.map((b) => Date.parse(b) / 1000), [stats]);
  const charts = useMemo(() => chartsOf(stats, per, span), [stats, per, span]);

  return (
    <>
      <dl class="stat-tiles" aria-label={`Totals ${span}`}>
        <Tile label="Runs" value={String(t.runs)} note={`${t.failed_runs} failed${percent(t.failed_runs, t.runs)}`} noteBad={t.failed_runs > 0} />
        <Tile label="Duration p50 / p95" value={`${ms(t.p50_ms)} / ${ms(t.p95_ms)}`} />
        <Tile
          label="Queue now"
          value={String(stats.queue_now.depth)}
          note={stats.queue_now.oldest_due_seconds === null ? `${stats.queue_now.running} running, none due` : `${stats.queue_now.due} due, oldest ${secs(stats.queue_now.oldest_due_seconds)}`}
        />
        <Tile label="Dead letters" value={String(t.dead_letters)} valueBad={t.dead_letters > 0} />
        <Tile label="Mail sent" value={String(t.mail_sent)} note={`${t.mail_failed} failed`} noteBad={t.mail_failed > 0} />
        <Tile label="Inbound accepted" value={String(t.inbound_accepted)} note={`${t.inbound_refused} refused`} />
      </dl>
      <div class="chart-grid">
        {charts.map((c) => (
          <Chart key={c.title} title={c.title} summary={c.summary} times={times} series={c.series} {...(c.format ? { format: c.format } : {})} />
        ))}
      </div>
    </>
  );
}

/** A total; red marks what needs a look (failures), never the good part of a figure. */
function Tile({ label, value, note, valueBad, noteBad }: { label: string; value: string; note?: string; valueBad?: boolean; noteBad?: boolean }) {
  return (
    <div class="stat-tile">
      <dt>{label}</dt>
      <dd class={`stat-value${valueBad ? " bad" : ""}`}>{value}</dd>
      {note && <dd class={`stat-note${noteBad ? " bad" : ""}`}>{note}</dd>}
    </div>
  );
}

interface ChartSpec {
  title: string;
  summary: string;
  series: ChartSeries[];
  format?: (v: number) => string;
}

function chartsOf(s: Stats, per: string, span: string): ChartSpec[] {
  const sampled = s.queue.depth.some((v) => v !== null);
  return [
    {
      title: `Runs ${per}`,
      summary: `${total(s.runs.ok)} ok, ${total(s.runs.error)} error, ${total(s.runs.timeout)} timeout, ${total(s.runs.oom)} out of memory ${span}.`,
      series: [
        { label: "ok", values: s.runs.ok, color: GREEN },
        { label: "error", values: s.runs.error, color: RED },
        { label: "timeout", values: s.runs.timeout, color: AMBER, dashed: true },
        { label: "out of memory", values: s.runs.oom, color: PURPLE, dashed: true },
      ],
    },
    {
      title: "Run duration",
      summary: `p50 ${ms(s.totals.p50_ms)} and p95 ${ms(s.totals.p95_ms)} ${span}; the highest p95 of any ${s.bucket_seconds === 60 ? "minute" : "quarter-hour"} ${ms(highest(s.duration_ms.p95))}.`,
      series: [
        { label: "p50", values: s.duration_ms.p50, color: BLUE },
        { label: "p95", values: s.duration_ms.p95, color: PURPLE, dashed: true },
      ],
      format: axisMs,
    },
    {
      title: "Queue depth",
      summary: sampled
        ? `At most ${highest(s.queue.depth)} events waiting and ${highest(s.queue.due)} due ${span}; ${s.queue_now.depth} waiting now.`
        : `No worker has sampled the queue ${span}; ${s.queue_now.depth} waiting now.`,
      series: [
        { label: "waiting", values: s.queue.depth, color: NAVY },
        { label: "due", values: s.queue.due, color: AMBER, dashed: true },
        { label: "running", values: s.queue.running, color: GREEN },
      ],
    },
    {
      title: "Oldest due event",
      summary: sampled ? `The oldest due event waited at most ${secs(highest(s.queue.oldest_due_seconds))} ${span}; latest sample ${secs(latest(s.queue.oldest_due_seconds))}.` : `No samples ${span}.`,
      series: [{ label: "age", values: s.queue.oldest_due_seconds, color: AMBER }],
      format: axisSecs,
    },
    {
      title: `Dead letters ${per}`,
      summary: `${total(s.dead_letters)} ${total(s.dead_letters) === 1 ? "event" : "events"} dead-lettered ${span} (still held).`,
      series: [{ label: "dead letters", values: s.dead_letters, color: RED }],
    },
    {
      title: `Mail ${per}`,
      summary: `${total(s.mail.sent)} sent, ${total(s.mail.captured)} captured, ${total(s.mail.failed)} failed ${span}.`,
      series: [
        { label: "sent", values: s.mail.sent, color: GREEN },
        { label: "captured", values: s.mail.captured, color: BLUE, dashed: true },
        { label: "failed", values: s.mail.failed, color: RED },
      ],
    },
    {
      title: `Inbound ${per}`,
      summary: `Email ${total(s.inbound.email.accepted)} accepted, ${total(s.inbound.email.refused)} refused; http triggers ${total(s.inbound.http.accepted)} accepted, ${total(s.inbound.http.refused)} refused ${span}.`,
      series: [
        { label: "email accepted", values: s.inbound.email.accepted, color: GREEN },
        { label: "email refused", values: s.inbound.email.refused, color: RED },
        { label: "http accepted", values: s.inbound.http.accepted, color: BLUE, dashed: true },
        { label: "http refused", values: s.inbound.http.refused, color: AMBER, dashed: true },
      ],
    },
  ];
}
