import { api } from "../api/admin.ts";
import type { App } from "../api/types.ts";
import { appPath } from "../router.ts";
import { Badge, Empty, ErrorText, LoadMore, Loading, Time, useClientPages } from "../ui/bits.tsx";
import { useLoad } from "../ui/hooks.ts";
import { ScriptEditor } from "./script-editor.tsx";

/** The app's scripts; `/scripts/new` and `/scripts/{id}` open the editor. */
export function ScriptsPage({ app, id }: { app: App; id: string | undefined }) {
  if (id) return <ScriptEditor key={id} app={app} scriptId={id === "new" ? null : id} />;
  return <ScriptList app={app} />;
}

function ScriptList({ app }: { app: App }) {
  const scripts = useLoad(() => api.scripts.list(app.id), [app.id]);
  const pages = useClientPages(scripts.data ?? []);
  return (
    <>
      <div class="page-head row">
        <h1>Scripts</h1>
        <a class="button primary" href={appPath(app.name, "scripts", "new")}>
          New script
        </a>
      </div>
      <Loading when={scripts.loading && !scripts.data} />
      <ErrorText error={scripts.error} />
      {scripts.data?.length === 0 && <Empty>No scripts yet. A script is one module whose default export handles an event.</Empty>}
      {pages.shown.length > 0 && (
        <table class="list" aria-label="Scripts">
          <thead>
            <tr>
              <th>Name</th>
              <th>Language</th>
              <th>Version</th>
              <th>Deployed</th>
            </tr>
          </thead>
          <tbody>
            {pages.shown.map((s) => (
              <tr key={s.id}>
                <td data-label="Name">
                  <a href={appPath(app.name, "scripts", s.id)}>{s.name}</a>
                </td>
                <td data-label="Language">
                  <Badge tone="muted">{s.language === "ts" ? "TypeScript" : "JavaScript"}</Badge>
                </td>
                <td data-label="Version">v{s.version}</td>
                <td data-label="Deployed">
                  <Time at={s.updated_at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <LoadMore more={pages.more} loading={false} onMore={pages.showMore} />
    </>
  );
}
