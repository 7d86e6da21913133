import { api } from "../api/admin.ts";
import type { App, Run } from "../api/types.ts";
import { appPath } from "../router.ts";
import { Fact, Json, StatusBadge, Time } from "../ui/bits.tsx";
import { useLoad } from "../ui/hooks.ts";
import { RunSubrequests } from "./run-subrequests.tsx";

/** One run whole: what ran, how it ended, its (redacted) logs, result and error. */
export function RunDetail({ app, run }: { app: App; run: Run }) {
  const names = useLoad(async () => {
    const [scripts, triggers] = await Promise.all([api.scripts.list(app.id), run.trigger_id ? api.triggers.list(app.id) : Promise.resolve([])]);
    return { script: scripts.find((s) => s.id === run.script_id)?.name, trigger: triggers.find((t) => t.id === run.trigger_id)?.name };
  }, [app.id, run.script_id, run.trigger_id]);
  return (
    <article class="run-detail" aria-label={`Run ${run.id}`}>
      <dl class="facts" aria-busy={names.loading ? "true" : undefined}>
        <Fact label="Status">
          <StatusBadge status={run.status} />
        </Fact>
        <Fact label="Event">
          {run.event_kind}
          {run.trigger_id && !names.loading && ` via ${names.data?.trigger ?? run.trigger_id}`} ·{" "}
          <a href={`${appPath(app.name, "runs")}?event_id=${encodeURIComponent(run.event_id)}`}>all attempts</a>
        </Fact>
        <Fact label="Attempt">{run.attempt}</Fact>
        <Fact label="Script">
          <a href={appPath(app.name, "scripts", run.script_id)}>{names.loading ? "…" : (names.data?.script ?? run.script_id)}</a> v{run.script_version}
        </Fact>
        <Fact label="Started">
          <Time at={run.started_at} />
        </Fact>
        <Fact label="Took">{run.duration_ms === null ? "—" : `${run.duration_ms} ms (CPU ${run.cpu_ms ?? "?"} ms)`}</Fact>
      </dl>
      {run.error && (
        <section class="run-error" aria-label="Error">
          <h3>Error</h3>
          <p class="error-line">
            <strong>{run.error.name}</strong>
            {run.error.code ? ` (${run.error.code})` : ""}: {run.error.message}
          </p>
          {run.error.stack && <pre class="stack">{run.error.stack}</pre>}
        </section>
      )}
      <section aria-label="Logs">
        <h3>Logs</h3>
        {run.logs && run.logs.length > 0 ? (
          <pre class="logs">
            {run.logs.map((l, i) => (
              <div key={i} class={`log log-${l.level}`}>
                <span class="log-at">{l.at.toFixed(0).padStart(5, " ")} ms</span> <span class="log-level">{l.level.padEnd(5, " ")}</span> {l.message}
              </div>
            ))}
            {run.logs_truncated && <div class="muted">… (logs truncated)</div>}
          </pre>
        ) : (
          <p class="muted">No log lines.</p>
        )}
      </section>
      {run.subrequests && run.subrequests.length > 0 && <RunSubrequests subrequests={run.subrequests} />}
      {run.status === "ok" && (
        <section aria-label="Result">
          <h3>Result</h3>
          <Json value={run.result} />
        </section>
      )}
    </article>
  );
}
