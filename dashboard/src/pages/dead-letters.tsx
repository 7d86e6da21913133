import { useCallback, useState } from "preact/hooks";
import { api } from "../api/admin.ts";
import type { App, DeadLetter } from "../api/types.ts";
import { appPath, navigate, useLocation } from "../router.ts";
import { ConfirmButton, ErrorText, Fact, Json, Loading, Time } from "../ui/bits.tsx";
import { FilterSelect, ScriptTriggerFilters } from "../ui/filter-select.tsx";
import { useAction, useLoad, usePaged } from "../ui/hooks.ts";
import { ListHead, PagedList } from "../ui/lists.tsx";

const KINDS = ["manual", "http", "cron", "email", "dead_letter"];

export function DeadLettersPage({ app, id }: { app: App; id: string | undefined }) {
  return id ? <DeadLetterPage app={app} id={id} /> : <DeadLetterList app={app} />;
}

function DeadLetterList({ app }: { app: App }) {
  const { query } = useLocation();
  const filter = { script_id: query.get("script_id") ?? "", trigger_id: query.get("trigger_id") ?? "", kind: query.get("kind") ?? "" };
  const scripts = useLoad(() => api.scripts.list(app.id), [app.id]);
  const triggers = useLoad(() => api.triggers.list(app.id), [app.id]);
  const fetchPage = useCallback(
    (before: string | undefined, limit: number) => api.deadLetters.list(app.id, { ...filter, before, limit }),
    [app.id, filter.script_id, filter.trigger_id, filter.kind],
  );
  const letters = usePaged<DeadLetter>(fetchPage, (d) => d.id, [fetchPage], { refreshMs: 3000 });
  const [replayed, setReplayed] = useState<string | null>(null);
  const replayAll = useAction(async () => {
    const result = await api.deadLetters.replayMatching(app.id, {
      ...(filter.script_id ? { script_id: filter.script_id } : {}),
      ...(filter.trigger_id ? { trigger_id: filter.trigger_id } : {}),
      ...(filter.kind ? { kind: filter.kind } : {}),
    });
    setReplayed(`Replayed ${result.replayed} dead ${result.replayed === 1 ? "letter" : "letters"}${result.more ? "; more remain, replay again" : ""}.`);
    await letters.reload();
  });
  const filtered = Boolean(filter.script_id || filter.trigger_id || filter.kind);
  const scriptName = (sid: string | null) => (sid ? (scripts.data?.find((s) => s.id === sid)?.name ?? sid) : "—");
  const triggerName = (tid: string | null) => (tid ? (triggers.data?.find((t) => t.id === tid)?.name ?? tid) : "manual");

  return (
    <>
      <div class="page-head">
        <h1>Dead letters</h1>
        <p class="muted">Events whose every attempt failed. Replaying one runs it again as a new event (ctx.run.replay is true) and removes the dead letter.</p>
      </div>
      <form class="filters" aria-label="Filter dead letters" onSubmit={(e) => e.preventDefault()}>
        <ScriptTriggerFilters idPrefix="dl" scripts={scripts.data} triggers={triggers.data} scriptId={filter.script_id} triggerId={filter.trigger_id} />
        <FilterSelect id="dl-kind" label="Event kind" param="kind" value={filter.kind} options={KINDS} />
        <div class="field end">
          <ConfirmButton
            label={filtered ? "Replay all matching" : "Replay all"}
            confirm={filtered ? "Replay every dead letter matching these filters?" : "Replay every dead letter of this app?"}
            class="primary"
            busy={replayAll.busy || letters.items.length === 0}
            onConfirm={() => void replayAll.run()}
          />
        </div>
      </form>
      <ErrorText error={replayAll.error} />
      {replayed && (
        <p class="success" role="status">
          {replayed}
        </p>
      )}
      <PagedList paged={letters} empty={<>No dead letters{filtered ? " match" : ""}. Good.</>}>
        {(items) => (
          <table class="list" aria-label="Dead letters">
            <ListHead columns={["Failed", "Kind", "Script", "Trigger", "Attempts", "Last error"]} />
            <tbody>
              {items.map((d) => (
                <tr key={d.id}>
                  <td data-label="Failed">
                    <a href={appPath(app.name, "dead-letters", d.id)} aria-label={`Dead letter ${d.id}`}>
                      <Time at={d.last_attempt_at} />
                    </a>
                  </td>
                  <td data-label="Kind">{d.kind}</td>
                  <td data-label="Script">{scriptName(d.script_id)}</td>
                  <td data-label="Trigger">{triggerName(d.trigger_id)}</td>
                  <td data-label="Attempts">{d.attempts}</td>
                  <td data-label="Last error" class="error-summary">
                    {d.last_error?.message ?? "—"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </PagedList>
    </>
  );
}

function DeadLetterPage({ app, id }: { app: App; id: string }) {
  const letter = useLoad(() => api.deadLetters.get(app.id, id), [app.id, id]);
  const [replayedAs, setReplayedAs] = useState<string | null>(null);
  const replay = useAction(async () => setReplayedAs((await api.deadLetters.replay(app.id, id)).event_id));
  const remove = useAction(async () => {
    await api.deadLetters.remove(app.id, id);
    navigate(appPath(app.name, "dead-letters"));
  });
  const d = letter.data;
  return (
    <>
      <div class="page-head row">
        <h1>Dead letter</h1>
        <a href={appPath(app.name, "dead-letters")}>All dead letters</a>
      </div>
      <Loading when={letter.loading && !d} />
      {!replayedAs && <ErrorText error={letter.error} />}
      {replayedAs && (
        <p class="success" role="status">
          Replayed as event <code>{replayedAs}</code>.{" "}
          <a href={`${appPath(app.name, "runs")}?event_id=${encodeURIComponent(replayedAs)}`}>See its runs</a>
        </p>
      )}
      {d && !replayedAs && (
        <>
          <div class="actions">
            <button type="button" class="primary" disabled={replay.busy} onClick={() => void replay.run()}>
              {replay.busy ? "Replaying…" : "Replay"}
            </button>
            <ConfirmButton label="Delete" confirm="Drop this dead letter for good?" busy={remove.busy} onConfirm={() => void remove.run()} />
          </div>
          <ErrorText error={replay.error} />
          <ErrorText error={remove.error} />
          <dl class="facts">
            <Fact label="Kind">{d.kind}</Fact>
            <Fact label="Attempts">{d.attempts}</Fact>
            <Fact label="First attempt">
              <Time at={d.first_attempt_at} />
            </Fact>
            <Fact label="Last attempt">
              <Time at={d.last_attempt_at} />
            </Fact>
            <Fact label="Runs">
              <a href={`${appPath(app.name, "runs")}?event_id=${encodeURIComponent(d.event_id)}`}>the failed attempts</a>
            </Fact>
          </dl>
          {d.last_error && (
            <section aria-label="Last error">
              <h3>Last error</h3>
              <p class="error-line">
                <strong>{d.last_error.name}</strong>: {d.last_error.message}
              </p>
              {d.last_error.stack && <pre class="stack">{d.last_error.stack}</pre>}
            </section>
          )}
          <section aria-label="Original event">
            <h3>Original event</h3>
            <Json value={d.event} />
          </section>
        </>
      )}
    </>
  );
}
