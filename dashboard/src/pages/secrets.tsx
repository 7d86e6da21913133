import { useState } from "preact/hooks";
import { api } from "../api/admin.ts";
import type { App, SecretEntry } from "../api/types.ts";
import { Empty, ErrorText, LoadMore, Loading, useClientPages } from "../ui/bits.tsx";
import { useLoad } from "../ui/hooks.ts";
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
  const pages = useClientPages(secrets.data ?? []);

  return (
    <>
      <div class="page-head">
        <h1>Secrets</h1>
        <p class="muted">
          Scripts of <strong>{app.name}</strong> read these with <code>secrets.get(name)</code>. The app's own value wins over the workspace's, which wins
          over the global one.
        </p>
      </div>
      <section aria-labelledby="secret-list-title">
        <h2 id="secret-list-title" class="visually-hidden">
          Secret names
        </h2>
        <Loading when={secrets.loading && !secrets.data} />
        <ErrorText error={secrets.error} />
        {secrets.data?.length === 0 && <Empty>No secrets yet. Set one below, or import a .env file.</Empty>}
        {pages.shown.length > 0 && (
          <table class="list secrets" aria-label="Secrets">
            <thead>
              <tr>
                <th>Name</th>
                <th>Scope</th>
                <th>Version</th>
                <th>Last change</th>
                <th>
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {pages.shown.map((s: SecretEntry) => (
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
        <LoadMore more={pages.more} loading={false} onMore={pages.showMore} />
      </section>
      <div class="two-columns">
        <SetSecret app={app} onSaved={secrets.reload} />
        <ImportSecrets app={app} onImported={secrets.reload} />
      </div>
    </>
  );
}
