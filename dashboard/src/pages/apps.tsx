import { useRef } from "preact/hooks";
import { api } from "../api/admin.ts";
import type { App } from "../api/types.ts";
import { appPath, navigate } from "../router.ts";
import { Empty, ErrorText, FieldError, LoadMore, Loading, Time, useClientPages } from "../ui/bits.tsx";
import { useAction, useLoad, type Loaded } from "../ui/hooks.ts";

/** Every app the token can see, and a form to create one. */
export function AppsPage({ apps }: { apps: Loaded<App[]> }) {
  const workspaces = useLoad(() => api.workspaces.list(), []);
  const name = useRef<HTMLInputElement>(null);
  const workspace = useRef<HTMLSelectElement>(null);
  const create = useAction(async () => {
    const created = await api.apps.create(name.current?.value.trim() ?? "", workspace.current?.value || undefined);
    await apps.reload();
    navigate(appPath(created.name, "secrets"));
  });
  const pages = useClientPages(apps.data ?? []);

  return (
    <>
      <div class="page-head">
        <h1>Apps</h1>
        <p class="muted">An app keeps its own secrets, scripts, triggers, runs and mail. Its workspace's and the global secrets are shared with it.</p>
      </div>
      <form
        class="inline-form"
        aria-label="Create an app"
        onSubmit={(e) => {
          e.preventDefault();
          void create.run();
        }}
      >
        <div class="field">
          <label for="app-name">New app</label>
          <input id="app-name" ref={name} required placeholder="billing" autoComplete="off" aria-invalid={create.error ? true : undefined} />
          <FieldError error={create.error} field="name" />
        </div>
        {workspaces.data && workspaces.data.length > 1 && (
          <div class="field">
            <label for="app-ws">Workspace</label>
            <select id="app-ws" ref={workspace}>
              {workspaces.data.map((w) => (
                <option key={w.id} value={w.id}>
                  {w.name}
                </option>
              ))}
            </select>
          </div>
        )}
        <button type="submit" class="primary" disabled={create.busy}>
          Create app
        </button>
      </form>
      <ErrorText error={create.error} except={["name"]} />
      <Loading when={apps.loading && !apps.data} />
      <ErrorText error={apps.error} />
      {apps.data?.length === 0 && <Empty>No apps yet. Create one to keep its secrets, scripts and triggers together.</Empty>}
      {pages.shown.length > 0 && (
        <table class="list">
          <thead>
            <tr>
              <th>Name</th>
              <th>Workspace</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {pages.shown.map((a) => (
              <tr key={a.id}>
                <td data-label="Name">
                  <a href={appPath(a.name, "secrets")}>{a.name}</a>
                </td>
                <td data-label="Workspace">{workspaces.data?.find((w) => w.id === a.workspace_id)?.name ?? a.workspace_id}</td>
                <td data-label="Created">
                  <Time at={a.created_at} />
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
