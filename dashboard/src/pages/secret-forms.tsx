import { useRef, useState } from "preact/hooks";
import { api } from "../api/admin.ts";
import { ApiError } from "../api/client.ts";
import type { App, ImportReport, SecretScope } from "../api/types.ts";
import { Badge, ErrorText } from "../ui/bits.tsx";
import { useAction } from "../ui/hooks.ts";
import { placeOf } from "./secret-place.ts";

function ScopeSelect({ id, value, onChange }: { id: string; value: SecretScope; onChange: (s: SecretScope) => void }) {
  return (
    <select id={id} value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value as SecretScope)}>
      <option value="app">This app</option>
      <option value="workspace">The app's workspace (shared)</option>
      <option value="global">Global (every app)</option>
    </select>
  );
}

/** The hosts typed in the form, comma- or newline-separated; undefined when none (the binding is kept). */
export function parseBoundHosts(text: string): string[] | undefined {
  const hosts = text
    .split(/[,\n]/)
    .map((h) => h.trim())
    .filter(Boolean);
  return hosts.length > 0 ? hosts : undefined;
}

/**
 * Sets a secret. The value field is a password field read once on submit and
 * emptied straight after, whatever the answer: the value is not kept in the
 * page's state or DOM. Bound hosts make it a host-bound secret; left empty,
 * an existing secret keeps its binding, unless "Remove the binding" is ticked.
 */
export function SetSecret({ app, onSaved }: { app: App; onSaved: () => Promise<void> }) {
  const nameRef = useRef<HTMLInputElement>(null);
  const valueRef = useRef<HTMLInputElement>(null);
  const hostsRef = useRef<HTMLTextAreaElement>(null);
  const [scope, setScope] = useState<SecretScope>("app");
  const [asJson, setAsJson] = useState(false);
  const [unbind, setUnbind] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const save = useAction(async (name: string, value: unknown, boundHosts: string[] | null | undefined) => {
    const result = await api.secrets.set(placeOf(app, scope), name, value, boundHosts);
    const bound = result.bound_hosts ? `, bound to ${result.bound_hosts.join(", ")}` : "";
    setSaved(`${result.name} saved as version ${result.version}${bound}.`);
    if (nameRef.current) nameRef.current.value = "";
    if (hostsRef.current) hostsRef.current.value = "";
    setUnbind(false);
    await onSaved();
  });

  const [jsonError, setJsonError] = useState<string | null>(null);
  const [hostsError, setHostsError] = useState<string | null>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    setSaved(null);
    setJsonError(null);
    setHostsError(null);
    save.clear();
    const field = valueRef.current;
    const raw = field?.value ?? "";
    if (field) field.value = "";
    let value: unknown = raw;
    if (asJson) {
      try {
        value = JSON.parse(raw);
      } catch (e) {
        // Nothing was sent; the field is already empty, so say to type it again.
        setJsonError(`Not valid JSON (${(e as Error).message}). Type it again.`);
        return;
      }
    }
    const hosts = parseBoundHosts(hostsRef.current?.value ?? "");
    if (unbind && hosts) {
      setHostsError("Either list hosts or remove the binding, not both. Type the value again.");
      return;
    }
    await save.run(nameRef.current?.value.trim() ?? "", value, unbind ? null : hosts);
  };
  // The service names the field either in zod issues or, for a bad name, in `details.pattern`.
  const details = save.error?.details as { pattern?: string } | undefined;
  const nameError = save.error?.issueFor("name") ?? (details?.pattern ? save.error?.message : undefined);
  const valueError = jsonError ?? save.error?.issueFor("value") ?? (save.error?.code === "too_large" ? save.error.message : undefined);
  // Each bad entry is its own issue (`bound_hosts.<index>`); all of them go under the field.
  const hostIssues = save.error?.issues.filter((i) => i.path === "bound_hosts" || i.path.startsWith("bound_hosts.")).map((i) => i.message) ?? [];
  const hostsFieldError = hostsError ?? (hostIssues.length > 0 ? hostIssues.join(" ") : undefined);
  const fieldError = Boolean(nameError ?? valueError ?? hostsFieldError);

  return (
    <form class="card" aria-labelledby="set-secret-title" onSubmit={submit} autoComplete="off">
      <h2 id="set-secret-title">Set a secret</h2>
      <div class="field">
        <label for="secret-name">Name</label>
        <input id="secret-name" ref={nameRef} required placeholder="API_KEY" spellcheck={false} autoComplete="off" />
        {nameError && (
          <span class="field-error" role="alert">
            {nameError}
          </span>
        )}
      </div>
      <div class="field">
        <label for="secret-scope">Where</label>
        <ScopeSelect id="secret-scope" value={scope} onChange={setScope} />
      </div>
      <div class="field">
        <label for="secret-value">Value</label>
        <input id="secret-value" ref={valueRef} type="password" required autoComplete="new-password" spellcheck={false} aria-describedby="secret-value-help" />
        <span id="secret-value-help" class="muted">
          Not shown, and cleared once sent. A new value makes a new version.
        </span>
        {valueError && (
          <span class="field-error" role="alert">
            {valueError}
          </span>
        )}
      </div>
      <label class="check">
        <input type="checkbox" checked={asJson} onChange={(e) => setAsJson((e.target as HTMLInputElement).checked)} /> The value is JSON (an object, number,
        list…)
      </label>
      <div class="field">
        <label for="secret-bound-hosts">Bound hosts (optional)</label>
        <textarea
          id="secret-bound-hosts"
          ref={hostsRef}
          rows={2}
          spellcheck={false}
          autoComplete="off"
          class="mono"
          placeholder={"api.stripe.com\n*.example.com:443"}
          aria-describedby="secret-bound-hosts-help"
        />
        <span id="secret-bound-hosts-help" class="muted">
          Comma or newline separated: host, host:port, *.domain or an IP address. Scripts then get a placeholder, and the value is sent only to these hosts.
          Left empty, a secret keeps the binding it has.
        </span>
        {hostsFieldError && (
          <span class="field-error" role="alert">
            {hostsFieldError}
          </span>
        )}
      </div>
      <label class="check">
        <input type="checkbox" checked={unbind} onChange={(e) => setUnbind((e.target as HTMLInputElement).checked)} /> Remove the binding (scripts may read the
        value again; a token needs secrets:reveal to do this for an unchanged value)
      </label>
      <ErrorText error={fieldError ? null : save.error} />
      {saved && (
        <p class="success" role="status">
          {saved}
        </p>
      )}
      <button type="submit" class="primary" disabled={save.busy}>
        {save.busy ? "Saving…" : "Save secret"}
      </button>
    </form>
  );
}

/**
 * Imports a .env file in two steps: a dry run lists what would be created,
 * updated or left unchanged; only then the import. The text is dropped from
 * the page once imported or cancelled.
 */
export function ImportSecrets({ app, onImported }: { app: App; onImported: () => Promise<void> }) {
  const textRef = useRef<HTMLTextAreaElement>(null);
  const [scope, setScope] = useState<SecretScope>("app");
  const [preview, setPreview] = useState<ImportReport | null>(null);
  const [done, setDone] = useState<ImportReport | null>(null);
  const forget = () => {
    if (textRef.current) textRef.current.value = "";
    setPreview(null);
  };
  const dryRun = useAction(async () => {
    setDone(null);
    const text = textRef.current?.value ?? "";
    if (!text.trim()) throw new ApiError(0, "empty", "Paste the file's text or choose a .env file first");
    setPreview(await api.secrets.importDotenv(placeOf(app, scope), text, true));
  });
  const apply = useAction(async () => {
    const report = await api.secrets.importDotenv(placeOf(app, scope), textRef.current?.value ?? "", false);
    forget();
    setDone(report);
    await onImported();
  });
  const pick = async (event: Event) => {
    const input = event.target as HTMLInputElement;
    const file = input.files?.[0];
    input.value = "";
    if (file && textRef.current) {
      textRef.current.value = await file.text();
      await dryRun.run();
    }
  };
  const changes = preview ? preview.created + preview.updated : 0;

  return (
    <section class="card" aria-labelledby="import-title">
      <h2 id="import-title">Import a .env file</h2>
      <div class="field">
        <label for="import-file">File</label>
        <input id="import-file" type="file" accept=".env,text/plain" onChange={pick} />
      </div>
      <div class="field">
        <label for="import-text">…or paste it</label>
        <textarea id="import-text" ref={textRef} rows={4} spellcheck={false} autoComplete="off" class="mono secretish" placeholder={"API_KEY=...\nexport DB_URL=..."} onInput={() => setPreview(null)} />
      </div>
      <div class="field">
        <label for="import-scope">Into</label>
        <ScopeSelect id="import-scope" value={scope} onChange={(s) => (setScope(s), setPreview(null))} />
      </div>
      <ErrorText error={dryRun.error} />
      {!preview && (
        <button type="button" disabled={dryRun.busy} onClick={() => void dryRun.run()}>
          {dryRun.busy ? "Checking…" : "Preview import"}
        </button>
      )}
      {preview && (
        <div class="import-preview" aria-label="Import preview">
          <p>
            {preview.created} to create, {preview.updated} to update, {preview.unchanged} unchanged.
          </p>
          <ul class="plain">
            {preview.results.map((r) => (
              <li key={r.name}>
                <Badge tone={r.status === "created" ? "ok" : r.status === "updated" ? "warn" : "muted"}>{r.status}</Badge> <code>{r.name}</code>{" "}
                <span class="muted">line {r.line}</span>
              </li>
            ))}
          </ul>
          <ErrorText error={apply.error} />
          <div class="actions">
            <button type="button" class="primary" disabled={apply.busy || changes === 0} onClick={() => void apply.run()}>
              {changes === 0 ? "Nothing to import" : `Import ${changes} ${changes === 1 ? "change" : "changes"}`}
            </button>
            <button type="button" onClick={forget}>
              Cancel
            </button>
          </div>
        </div>
      )}
      {done && (
        <p class="success" role="status">
          Imported: {done.created} created, {done.updated} updated, {done.unchanged} unchanged.
        </p>
      )}
    </section>
  );
}
