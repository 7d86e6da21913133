import { useState } from "preact/hooks";
import { api } from "../api/admin.ts";
import type { App, SecretEntry } from "../api/types.ts";
import { useLoad } from "../ui/hooks.ts";
import { ListHead, WholeList } from "../ui/lists.tsx";
import { ImportSecrets, SetSecret } from "./secret-forms.tsx";
import { SecretRow } from "./secret-row.tsx";

/**
 * The names a script in this app sees: its own, then its workspace's, then
 * global ones; the nearest wins, and a row says what it wins over. Values are
 * never listed; revealing one is a separate, audited step.
 */
export function SecretsPage({ app }: { app: App }) {
  const secrets = useLoad(() => api.secrets.list(app.id), [app.id]);
  const [open, setOpen] = useState<string | null>(null);

  return (
    <>
      <div class="page-head">
        <h1>Secrets</h1>
        <p class="muted">
          Scripts of <strong>{app.name}</strong> read these with <code>secrets.get(name)</code>. The app's own value wins over the workspace's, which wins
          over the global one. A host-bound secret reaches scripts only as a placeholder, which the value replaces in a fetch to its hosts.
        </p>
      </div>
      <section aria-labelledby="secret-list-title">
        <h2 id="secret-list-title" class="visually-hidden">
          Secret names
        </h2>
        <WholeList loaded={secrets} empty="No secrets yet. Set one below, or import a .env file.">
          {(shown) => (
            <table class="list secrets" aria-label="Secrets">
              <ListHead columns={["Name", "Scope", "Version", "Bound to", "Last change"]} actions />
              <tbody>
                {shown.map((s: SecretEntry) => (
                  <SecretRow
                    key={`${s.scope}:${s.name}`}
                    app={app}
                    secret={s}
                    open={open === `${s.scope}:${s.name}`}
                    onToggle={() => setOpen((o) => (o === `${s.scope}:${s.name}` ? null : `${s.scope}:${s.name}`))}
                    onChanged={secrets.reload}
                  />
                ))}
              </tbody>
            </table>
          )}
        </WholeList>
      </section>
      <div class="two-columns">
        <SetSecret app={app} onSaved={secrets.reload} />
        <ImportSecrets app={app} onImported={secrets.reload} />
      </div>
    </>
  );
}
