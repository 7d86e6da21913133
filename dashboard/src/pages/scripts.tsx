import { api } from "../api/admin.ts";
import type { App } from "../api/types.ts";
import { appPath } from "../router.ts";
import { Badge, Time } from "../ui/bits.tsx";
import { useLoad } from "../ui/hooks.ts";
import { ListHead, WholeList } from "../ui/lists.tsx";
import { ScriptEditor } from "./script-editor.tsx";

/** The app's scripts; `/scripts/new` and `/scripts/{id}` open the editor. */
export function ScriptsPage({ app, id }: { app: App; id: string | undefined }) {
  if (id) return <ScriptEditor key={id} app={app} scriptId={id === "new" ? null : id} />;
  return <ScriptList app={app} />;
}

function ScriptList({ app }: { app: App }) {
  const scripts = useLoad(() => api.scripts.list(app.id), [app.id]);
  return (
    <>
      <div class="page-head row">
        <h1>Scripts</h1>
        <a class="button primary" href={appPath(app.name, "scripts", "new")}>
          New script
        </a>
      </div>
      <WholeList loaded={scripts} empty="No scripts yet. A script is one module whose default export handles an event.">
        {(shown) => (
          <table class="list" aria-label="Scripts">
            <ListHead columns={["Name", "Language", "Version", "Deployed"]} />
            <tbody>
              {shown.map((s) => (
                <tr key={s.id}>
                  <td data-label="Name">
                    <a href={appPath(app.name, "scripts", s.id)}>{s.name}</a>
                  </td>
                  <td data-label="Language">
                    <Badge tone="muted">{s.language === "ts" ? "TypeScript" : "JavaScript"}</Badge>
                  </td>
                  <td data-label="Version">
                    v{s.version} {s.quarantine && <Badge tone="bad">quarantined</Badge>}
                  </td>
                  <td data-label="Deployed">
                    <Time at={s.updated_at} />
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
