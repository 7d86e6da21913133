import { useRef, useState } from "preact/hooks";
import { api } from "../api/admin.ts";
import type { ApiError } from "../api/client.ts";
import type { App, Script } from "../api/types.ts";
import { appPath, navigate } from "../router.ts";
import { ConfirmButton, ErrorText, FieldError, Loading, Time } from "../ui/bits.tsx";
import type { CodeEditorHandle } from "../ui/code-editor.tsx";
import { LazyCodeEditor } from "../ui/lazy-code-editor.tsx";
import { useAction, useLoad } from "../ui/hooks.ts";
import { InvokePanel } from "./invoke-panel.tsx";

const TEMPLATE = `// The default export handles every event this script gets; see event.kind.
// SDK: secrets.get/list/sign, email.send/sendHtml, console.*, fetch (types: /api/v1/sdk.d.ts).
/** @param {Switchyard.Event} event @param {Switchyard.Context} ctx */
export default async function (event, ctx) {
  console.log("handling", event.kind, "attempt", ctx.run.attempt);
  return { ok: true };
}
`;

// Survives the remount from /scripts/new to /scripts/{id} after a first deploy.
let flash: string | null = null;

/** Loads a script (or starts a new one) into the editor. */
export function ScriptEditor({ app, scriptId }: { app: App; scriptId: string | null }) {
  const script = useLoad(() => (scriptId ? api.scripts.get(app.id, scriptId) : Promise.resolve(null)), [app.id, scriptId]);
  if (script.loading && !script.data) return <Loading when />;
  if (script.error) {
    return (
      <>
        <h1>Script</h1>
        <ErrorText error={script.error} />
        <a href={appPath(app.name, "scripts")}>Back to scripts</a>
      </>
    );
  }
  return <Editor app={app} script={script.data ?? null} onDeployed={script.reload} />;
}

function Editor({ app, script, onDeployed }: { app: App; script: Script | null; onDeployed: () => Promise<void> }) {
  const editor = useRef<CodeEditorHandle>(null);
  const [language, setLanguage] = useState<"js" | "ts">(script?.language ?? "js");
  const [name, setName] = useState(script?.name ?? "");
  const [limits, setLimits] = useState<{ memory_mb: string; cpu_ms: string; wall_ms: string }>({
    memory_mb: String(script?.limits.memory_mb ?? ""),
    cpu_ms: String(script?.limits.cpu_ms ?? ""),
    wall_ms: String(script?.limits.wall_ms ?? ""),
  });
  const [fresh, setFresh] = useState(script?.fresh_context ?? false);
  const [message, setMessage] = useState<string | null>(() => {
    const m = flash;
    flash = null;
    return m;
  });

  const deploy = useAction(async () => {
    setMessage(null);
    editor.current?.showDiagnostics([]);
    const source = editor.current?.value() ?? "";
    const chosen = Object.fromEntries(
      Object.entries(limits)
        .filter(([, v]) => v.trim() !== "")
        .map(([k, v]) => [k, Number(v)]),
    );
    const body = { source, language, limits: chosen, fresh_context: fresh };
    try {
      if (script) {
        const saved = await api.scripts.redeploy(app.id, script.id, body);
        setMessage(`Deployed ${saved.name} v${saved.version}.`);
        await onDeployed();
      } else {
        const saved = await api.scripts.deploy(app.id, { name: name.trim(), ...body });
        flash = `Deployed ${saved.name} v${saved.version}.`;
        navigate(appPath(app.name, "scripts", saved.id), { replace: true });
      }
    } catch (e) {
      const diagnostics = (e as ApiError).diagnostics ?? [];
      if (diagnostics.length > 0) editor.current?.showDiagnostics(diagnostics);
      throw e;
    }
  });
  const remove = useAction(async () => {
    if (!script) return;
    await api.scripts.remove(app.id, script.id);
    navigate(appPath(app.name, "scripts"));
  });
  const diagnostics = deploy.error?.diagnostics ?? [];

  return (
    <>
      <div class="page-head row">
        <h1>{script ? script.name : "New script"}</h1>
        {script && (
          <span class="muted">
            v{script.version} · {script.id}
          </span>
        )}
      </div>
      {script?.quarantine && (
        <p class="error-line" role="alert" aria-label="Quarantine">
          v{script.quarantine.version} stopped the engine (run {script.quarantine.run_id ?? "unknown"}, <Time at={script.quarantine.crashed_at} />) and is quarantined: its
          events go to the dead letters without running. Deploy a new version to run it again.
        </p>
      )}
      <form
        class="editor-form"
        aria-label="Script"
        onSubmit={(e) => {
          e.preventDefault();
          void deploy.run();
        }}
      >
        <div class="inline-form">
          {!script && (
            <div class="field">
              <label for="script-name">Name</label>
              <input id="script-name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} required placeholder="on-invoice" autoComplete="off" spellcheck={false} />
              <FieldError error={deploy.error} field="name" />
            </div>
          )}
          <div class="field">
            <label for="script-language">Language</label>
            <select id="script-language" value={language} onChange={(e) => setLanguage((e.target as HTMLSelectElement).value as "js" | "ts")}>
              <option value="js">JavaScript</option>
              <option value="ts">TypeScript</option>
            </select>
          </div>
        </div>
        <LazyCodeEditor initial={script?.source ?? TEMPLATE} language={language} label="Script source" handle={editor} />
        {diagnostics.length > 0 && (
          <div class="error" role="alert" aria-label="Compile errors">
            <p>It does not compile:</p>
            <ul>
              {diagnostics.map((d, i) => (
                <li key={i}>
                  <button type="button" class="link" onClick={() => editor.current?.goTo(d.line, d.column)}>
                    Line {d.line}, column {d.column}
                  </button>
                  : {d.message}
                  {d.lineText && <pre class="line-text">{d.lineText}</pre>}
                </li>
              ))}
            </ul>
          </div>
        )}
        {diagnostics.length === 0 && <ErrorText error={deploy.error} except={["name"]} />}
        <details class="settings">
          <summary>Limits and context</summary>
          <div class="inline-form">
            {(["memory_mb", "cpu_ms", "wall_ms"] as const).map((k) => (
              <div class="field" key={k}>
                <label for={`limit-${k}`}>{k === "memory_mb" ? "Memory (MB)" : k === "cpu_ms" ? "CPU time (ms)" : "Wall clock (ms)"}</label>
                <input
                  id={`limit-${k}`}
                  type="number"
                  min={1}
                  inputMode="numeric"
                  placeholder="default"
                  value={limits[k]}
                  onInput={(e) => setLimits({ ...limits, [k]: (e.target as HTMLInputElement).value })}
                />
                <FieldError error={deploy.error} field={`limits.${k}`} />
              </div>
            ))}
          </div>
          <label class="check">
            <input type="checkbox" checked={fresh} onChange={(e) => setFresh((e.target as HTMLInputElement).checked)} /> A fresh context for every run (module
            state never carries over)
          </label>
        </details>
        {message && (
          <p class="success" role="status">
            {message}
          </p>
        )}
        <div class="actions">
          <button type="submit" class="primary" disabled={deploy.busy}>
            {deploy.busy ? "Deploying…" : "Deploy"}
          </button>
          {script && <ConfirmButton label="Delete script" confirm={`Delete ${script.name}? Its runs stay.`} busy={remove.busy} onConfirm={() => void remove.run()} />}
        </div>
        <ErrorText error={remove.error} />
      </form>
      {script && <InvokePanel app={app} script={script} />}
    </>
  );
}
