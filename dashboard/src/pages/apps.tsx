import { useRef } from "preact/hooks";
import { api } from "../api/admin.ts";
import type { App } from "../api/types.ts";
import { appPath, navigate } from "../router.ts";
import { ErrorText, FieldError, Time } from "../ui/bits.tsx";
import { useAction, useLoad, type Loaded } from "../ui/hooks.ts";
import { ListHead, WholeList } from "../ui/lists.tsx";

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
      <WholeList loaded={apps} empty="No apps yet. Create one to keep its secrets, scripts and triggers together.">
        {(shown) => (
          <table class="list">
            <ListHead columns={["Name", "Workspace", "Created"]} />
            <tbody>
              {shown.map((a) => (
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
      </WholeList>
    </>
  );
}
