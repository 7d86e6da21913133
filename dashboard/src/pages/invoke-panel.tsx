import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api/admin.ts";
import { asApiError, type ApiError } from "../api/client.ts";
import type { App, Run, Script } from "../api/types.ts";
import { appPath } from "../router.ts";
import { ErrorText, StatusBadge } from "../ui/bits.tsx";
import { useAction } from "../ui/hooks.ts";
import { RunDetail } from "./run-view.tsx";

/** Runs a script with a manual event and a JSON payload, then follows the event's runs. */
export function InvokePanel({ app, script }: { app: App; script: Script }) {
  const [payload, setPayload] = useState('{\n  "hello": "world"\n}');
  const [payloadError, setPayloadError] = useState<string | null>(null);
  const [eventId, setEventId] = useState<string | null>(null);
  const invoke = useAction(async () => {
    let parsed: unknown;
    try {
      parsed = payload.trim() === "" ? null : JSON.parse(payload);
    } catch (e) {
      setPayloadError(`The payload is not valid JSON: ${(e as Error).message}`);
      return;
    }
    setPayloadError(null);
    setEventId(null);
    setEventId((await api.scripts.invoke(app.id, script.id, parsed)).event_id);
  });

  return (
    <section class="card invoke" aria-labelledby="invoke-title">
      <h2 id="invoke-title">Invoke</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void invoke.run();
        }}
      >
        <div class="field">
          <label for="invoke-payload">Payload (JSON, the script gets it as event.payload)</label>
          <textarea
            id="invoke-payload"
            class="mono"
            rows={4}
            spellcheck={false}
            value={payload}
            onInput={(e) => setPayload((e.target as HTMLTextAreaElement).value)}
            aria-invalid={payloadError ? true : undefined}
          />
          {payloadError && (
            <span class="field-error" role="alert">
              {payloadError}
            </span>
          )}
        </div>
        <ErrorText error={invoke.error} />
        <button type="submit" class="primary" disabled={invoke.busy}>
          {invoke.busy ? "Invoking…" : `Invoke v${script.version}`}
        </button>
      </form>
      {eventId && <EventRuns key={eventId} app={app} eventId={eventId} />}
    </section>
  );
}

/**
 * Polls the runs of one event until the newest attempt has ended and no
 * retry followed for a while; shows the newest attempt whole.
 */
export function EventRuns({ app, eventId }: { app: App; eventId: string }) {
  const [runs, setRuns] = useState<Run[]>([]);
  const [latest, setLatest] = useState<Run | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [watching, setWatching] = useState(true);
  const lastChange = useRef(Date.now());
  const shown = useRef<Run | null>(null);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const found = await api.runs.list(app.id, { event_id: eventId, limit: 20 });
        if (stopped) return;
        const newest = found[0];
        setRuns(found);
        setError(null);
        if (newest && (newest.id !== shown.current?.id || newest.status !== shown.current?.status)) {
          lastChange.current = Date.now();
          shown.current = newest.status === "running" ? newest : await api.runs.get(app.id, newest.id);
          if (!stopped) setLatest(shown.current);
        }
        // A failed attempt may be retried: keep watching a while after the last change.
        const settled = newest && newest.status === "ok";
        const quiet = Date.now() - lastChange.current > 20_000;
        if (settled || quiet) {
          setWatching(false);
          return;
        }
      } catch (e) {
        if (!stopped) setError(asApiError(e));
      }
      if (!stopped) timer = setTimeout(tick, 500);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [app.id, eventId]);

  return (
    <div class="event-runs" aria-live="polite">
      <p>
        Event <code>{eventId}</code>{" "}
        {runs.length === 0 ? "queued, waiting for a worker…" : `${runs.length} ${runs.length === 1 ? "attempt" : "attempts"}`}
        {watching && runs.length > 0 && <span class="muted"> (watching)</span>}
      </p>
      {runs.length > 1 && (
        <ol class="plain attempts">
          {[...runs].reverse().map((r) => (
            <li key={r.id}>
              <a href={appPath(app.name, "runs", r.id)}>attempt {r.attempt}</a> <StatusBadge status={r.status} />
            </li>
          ))}
        </ol>
      )}
      <ErrorText error={error} />
      {latest && <RunDetail app={app} run={latest} />}
    </div>
  );
}
