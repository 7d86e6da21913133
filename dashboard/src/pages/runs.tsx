import { useCallback } from "preact/hooks";
import { api } from "../api/admin.ts";
import { RUN_STATUSES, type App, type Run } from "../api/types.ts";
import { appPath, setQuery, useLocation } from "../router.ts";
import { Empty, ErrorText, LoadMore, Loading, StatusBadge, Time } from "../ui/bits.tsx";
import { useLoad, usePaged } from "../ui/hooks.ts";
import { RunDetail } from "./run-view.tsx";

export function RunsPage({ app, id }: { app: App; id: string | undefined }) {
  return id ? <RunPage app={app} id={id} /> : <RunList app={app} />;
}

function RunPage({ app, id }: { app: App; id: string }) {
  const run = useLoad(() => api.runs.get(app.id, id), [app.id, id]);
  return (
    <>
      <div class="page-head row">
        <h1>Run</h1>
        <a href={appPath(app.name, "runs")}>All runs</a>
      </div>
      <Loading when={run.loading && !run.data} />
      <ErrorText error={run.error} />
      {run.data && <RunDetail app={app} run={run.data} />}
    </>
  );
}

/** Filters live in the query string, so a filtered view is a link. */
function RunList({ app }: { app: App }) {
  const { query } = useLocation();
  const status = query.get("status") ?? "";
  const scriptId = query.get("script_id") ?? "";
  const triggerId = query.get("trigger_id") ?? "";
  const eventId = query.get("event_id") ?? "";
  const scripts = useLoad(() => api.scripts.list(app.id), [app.id]);
  const triggers = useLoad(() => api.triggers.list(app.id), [app.id]);
  const fetchPage = useCallback(
    (before: string | undefined, limit: number) =>
      api.runs.list(app.id, { status, script_id: scriptId, trigger_id: triggerId, event_id: eventId, before, limit }),
    [app.id, status, scriptId, triggerId, eventId],
  );
  const runs = usePaged<Run>(fetchPage, (r) => r.id, [fetchPage], { refreshMs: 2000 });
  const scriptName = (sid: string) => scripts.data?.find((s) => s.id === sid)?.name ?? sid;
  const triggerName = (tid: string | null) => (tid ? (triggers.data?.find((t) => t.id === tid)?.name ?? tid) : "manual");

  return (
    <>
      <div class="page-head">
        <h1>Runs</h1>
      </div>
      <form class="filters" aria-label="Filter runs" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="runs-status">Status</label>
          <select id="runs-status" value={status} onChange={(e) => setQuery({ status: (e.target as HTMLSelectElement).value })}>
            <option value="">any</option>
            {RUN_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="runs-script">Script</label>
          <select id="runs-script" value={scriptId} onChange={(e) => setQuery({ script_id: (e.target as HTMLSelectElement).value })}>
            <option value="">any</option>
            {scripts.data?.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="runs-trigger">Trigger</label>
          <select id="runs-trigger" value={triggerId} onChange={(e) => setQuery({ trigger_id: (e.target as HTMLSelectElement).value })}>
            <option value="">any</option>
            {triggers.data?.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name} ({t.kind})
              </option>
            ))}
          </select>
        </div>
        {eventId && (
          <p class="filter-note">
            Event <code>{eventId}</code>{" "}
            <button type="button" class="link" onClick={() => setQuery({ event_id: undefined })}>
              show all events
            </button>
          </p>
        )}
      </form>
      <ErrorText error={runs.error} />
      <Loading when={runs.loading && runs.items.length === 0} />
      {!runs.loading && !runs.error && runs.items.length === 0 && <Empty>No runs match. Invoke a script, or fire one of its triggers.</Empty>}
      {runs.items.length > 0 && (
        <table class="list runs" aria-label="Runs">
          <thead>
            <tr>
              <th>Started</th>
              <th>Status</th>
              <th>Script</th>
              <th>Trigger</th>
              <th>Attempt</th>
              <th>Took</th>
            </tr>
          </thead>
          <tbody>
            {runs.items.map((r) => (
              <tr key={r.id}>
                <td data-label="Started">
                  <a href={appPath(app.name, "runs", r.id)} aria-label={`Run ${r.id}, ${r.status}`}>
                    <Time at={r.started_at} />
                  </a>
                </td>
                <td data-label="Status">
                  <StatusBadge status={r.status} />
                  {r.error && <span class="muted small-text error-summary"> {r.error.message}</span>}
                </td>
                <td data-label="Script">{scriptName(r.script_id)}</td>
                <td data-label="Trigger">
                  {triggerName(r.trigger_id)} <span class="muted">({r.event_kind})</span>
                </td>
                <td data-label="Attempt">{r.attempt}</td>
                <td data-label="Took">{r.duration_ms === null ? "—" : `${r.duration_ms} ms`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <LoadMore more={runs.more} loading={runs.loading} onMore={() => void runs.loadMore()} />
    </>
  );
}
