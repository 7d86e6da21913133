import { useCallback, useRef } from "preact/hooks";
import { api } from "../api/admin.ts";
import { useRunStream } from "../api/run-stream.ts";
import { RUN_STATUSES, type App, type Run } from "../api/types.ts";
import { appPath, setQuery, useLocation } from "../router.ts";
import { ErrorText, Loading, StatusBadge, Time } from "../ui/bits.tsx";
import { FilterSelect, ScriptTriggerFilters } from "../ui/filter-select.tsx";
import { useLoad, usePaged } from "../ui/hooks.ts";
import { ListHead, PagedList } from "../ui/lists.tsx";
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

/** usePaged's default page size. */
const PAGE = 50;

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
  // A run that finishes arrives on the live tail; the list is then read
  // again (once per burst), so its order and filters stay the server's.
  // Without the tail (refused, reconnecting) the list polls instead.
  const reload = useRef<(() => Promise<void>) | null>(null);
  const pending = useRef<number | null>(null);
  const live = useRunStream(app.id, (r) => {
    const shown = (!status || r.status === status) && (!scriptId || r.script_id === scriptId) && (!triggerId || r.trigger_id === triggerId) && (!eventId || r.event_id === eventId);
    if (!shown || pending.current !== null) return;
    pending.current = window.setTimeout(() => {
      pending.current = null;
      void reload.current?.();
    }, 100);
  });
  const runs = usePaged<Run>(fetchPage, (r) => r.id, [fetchPage], { refreshMs: live ? undefined : 2000 });
  // Past the first page a reload would drop the pages loaded since.
  reload.current = runs.items.length > PAGE ? null : runs.reload;
  const scriptName = (sid: string) => scripts.data?.find((s) => s.id === sid)?.name ?? sid;
  const triggerName = (tid: string | null) => (tid ? (triggers.data?.find((t) => t.id === tid)?.name ?? tid) : "manual");

  return (
    <>
      <div class="page-head">
        <h1>Runs</h1>
        {live && (
          <span class="badge badge-ok" title="Runs appear here as they finish">
            Live
          </span>
        )}
      </div>
      <form class="filters" aria-label="Filter runs" onSubmit={(e) => e.preventDefault()}>
        <FilterSelect id="runs-status" label="Status" param="status" value={status} options={RUN_STATUSES} />
        <ScriptTriggerFilters idPrefix="runs" scripts={scripts.data} triggers={triggers.data} scriptId={scriptId} triggerId={triggerId} />
        {eventId && (
          <p class="filter-note">
            Event <code>{eventId}</code>{" "}
            <button type="button" class="link" onClick={() => setQuery({ event_id: undefined })}>
              show all events
            </button>
          </p>
        )}
      </form>
      <PagedList paged={runs} empty="No runs match. Invoke a script, or fire one of its triggers.">
        {(items) => (
          <table class="list runs" aria-label="Runs">
            <ListHead columns={["Started", "Status", "Script", "Trigger", "Attempt", "Took"]} />
            <tbody>
              {items.map((r) => (
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
      </PagedList>
    </>
  );
}
