import { useEffect } from "preact/hooks";
import { api } from "../api/admin.ts";
import type { App, ConnectivityCounts, ConnectivityStatus, HostConnectivity } from "../api/types.ts";
import { Badge, Empty, ErrorText, Loading, Time } from "../ui/bits.tsx";
import { useLoad } from "../ui/hooks.ts";
import { ListHead } from "../ui/lists.tsx";

const TONE: Record<ConnectivityStatus, string> = { healthy: "ok", degraded: "warn", down: "bad" };
const REFRESH_MS = 5_000;

const ms = (value: number | null) => (value === null ? "—" : `${value} ms`);
const share = (c: ConnectivityCounts) => (c.requests === 0 ? "" : ` (${Math.round((100 * c.errors) / c.requests)}%)`);
const windowLabel = (windowMs: number) => (windowMs % 60_000 === 0 ? `${windowMs / 60_000} min` : `${Math.round(windowMs / 1000)} s`);

/**
 * The destinations of the app's fetches: each host's status (by the rules in
 * the README), its requests and errors over the window, p50/p95 latency, the
 * latest error and success, and what each worker process saw. Refreshes
 * every 5 s.
 */
export function ConnectivityPage({ app }: { app: App }) {
  const loaded = useLoad(() => api.connectivity.list(app.id), [app.id]);
  const { reload } = loaded;
  useEffect(() => {
    const timer = setInterval(() => void reload(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);
  const data = loaded.data;

  return (
    <>
      <div class="page-head">
        <h1>Connectivity</h1>
        <p class="muted">
          The APIs this app's scripts fetch, from every worker{data ? `, over the last ${windowLabel(data.window_ms)}` : ""}. A host is down when its last 5 attempts failed
          or nothing succeeded in the window, degraded when more than 10% failed or p95 is over 2 s.
        </p>
      </div>
      <Loading when={loaded.loading && !data} />
      <ErrorText error={loaded.error} />
      {data && data.hosts.length === 0 && <Empty>No fetches recorded yet. A script's fetch to any host shows here within seconds.</Empty>}
      {data && data.hosts.length > 0 && (
        <table class="list connectivity" aria-label="Destination hosts">
          <ListHead columns={["Host", "Status", "Requests", "Errors", "p50 / p95", "Last error", "Last success"]} />
          <tbody>
            {data.hosts.map((h) => (
              <HostRow key={h.host} host={h} />
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function HostRow({ host: h }: { host: HostConnectivity }) {
  const codes = Object.entries(h.errors_by_code).sort(([, a], [, b]) => b - a);
  return (
    <tr>
      <td data-label="Host">
        <code>{h.host}</code>
        {h.workers.length > 0 && (
          <details class="workers">
            <summary>
              {h.workers.length} worker{h.workers.length === 1 ? "" : "s"}
            </summary>
            <ul class="plain small-text">
              {h.workers.map((w) => (
                <li key={w.worker_id}>
                  <code>{w.worker_id}</code>: {w.requests} requests, {w.errors} errors{share(w)}, p95 {ms(w.p95_ms)}
                  {w.last_error && (
                    <>
                      , last <code class="error-line">{w.last_error}</code>
                    </>
                  )}
                </li>
              ))}
            </ul>
          </details>
        )}
      </td>
      <td data-label="Status">
        <Badge tone={TONE[h.status]}>{h.status}</Badge>
        {h.since && (
          <span class="muted small-text">
            {" "}
            since <Time at={h.since} />
          </span>
        )}
      </td>
      <td data-label="Requests">{h.requests}</td>
      <td data-label="Errors">
        {h.errors}
        {share(h)}
        {codes.length > 0 && (
          <span class="muted small-text">
            {" "}
            {codes.map(([code, n]) => `${code} ×${n}`).join(", ")}
          </span>
        )}
      </td>
      <td data-label="p50 / p95">
        {ms(h.p50_ms)} / {ms(h.p95_ms)}
      </td>
      <td data-label="Last error">
        {h.last_error ? (
          <>
            <code class="error-line">{h.last_error}</code>{" "}
            <span class="muted small-text">
              <Time at={h.last_error_at} />
            </span>
          </>
        ) : (
          <span class="muted">none</span>
        )}
      </td>
      <td data-label="Last success">
        <Time at={h.last_success_at} />
      </td>
    </tr>
  );
}
