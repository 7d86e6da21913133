import { Fragment } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { api } from "../api/admin.ts";
import type { App, AuditRow, SecretScope } from "../api/types.ts";
import { appPath, setQuery, useLocation } from "../router.ts";
import { Badge, Time } from "../ui/bits.tsx";
import { usePaged } from "../ui/hooks.ts";
import { ListHead, PagedList } from "../ui/lists.tsx";
import { placeOf } from "./secret-place.ts";

// Actions the service writes today; the field also takes any other text.
const ACTIONS = [
  "secret.read",
  "secret.reveal",
  "secret.preview",
  "secret.versions",
  "secret.list",
  "secret.set",
  "secret.rollback",
  "secret.delete",
  "secret.import",
  "script.deploy",
  "script.delete",
  "trigger.create",
  "trigger.update",
  "trigger.delete",
  "dead_letter.replay",
  "dead_letter.delete",
  "app.create",
  "app.delete",
  "audit.list",
];

/** Who did what, newest first; filters by action and name, for this app, its workspace, or global. */
export function AuditPage({ app }: { app: App }) {
  const { query } = useLocation();
  const scope = (query.get("scope") ?? "app") as SecretScope;
  const action = query.get("action") ?? "";
  const name = query.get("name") ?? "";
  const [nameDraft, setNameDraft] = useState(name);
  const [actionDraft, setActionDraft] = useState(action);
  useEffect(() => setNameDraft(name), [name]);
  useEffect(() => setActionDraft(action), [action]);
  const fetchPage = useCallback(
    (before: string | undefined, limit: number) =>
      api.audit.list(placeOf(app, scope), { action, name, before: before === undefined ? undefined : Number(before), limit }),
    [app.id, scope, action, name],
  );
  const rows = usePaged<AuditRow>(fetchPage, (r) => String(r.id), [fetchPage]);

  return (
    <>
      <div class="page-head">
        <h1>Audit</h1>
        <p class="muted">Every secret read, reveal, write and delete, and every admin change. Values are never recorded.</p>
      </div>
      <form
        class="filters"
        aria-label="Filter audit rows"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ action: actionDraft.trim(), name: nameDraft.trim() });
        }}
      >
        <div class="field">
          <label for="audit-scope">Of</label>
          <select id="audit-scope" value={scope} onChange={(e) => setQuery({ scope: (e.target as HTMLSelectElement).value === "app" ? undefined : (e.target as HTMLSelectElement).value })}>
            <option value="app">this app</option>
            <option value="workspace">its workspace</option>
            <option value="global">global</option>
          </select>
        </div>
        <div class="field">
          <label for="audit-action">Action</label>
          <input
            id="audit-action"
            list="audit-actions"
            value={actionDraft}
            placeholder="any"
            onInput={(e) => setActionDraft((e.target as HTMLInputElement).value)}
          />
          <datalist id="audit-actions">
            {ACTIONS.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </div>
        <div class="field">
          <label for="audit-name">Name</label>
          <input id="audit-name" value={nameDraft} placeholder="any" onInput={(e) => setNameDraft((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field end">
          <button type="submit">Filter</button>
        </div>
      </form>
      <PagedList paged={rows} empty="No audit rows match.">
        {(items) => (
          <table class="list" aria-label="Audit rows">
            <ListHead columns={["When", "Action", "Name", "Who", "Outcome", "Details"]} />
            <tbody>
              {items.map((r) => (
                <tr key={r.id}>
                  <td data-label="When">
                    <Time at={r.at} />
                  </td>
                  <td data-label="Action">
                    <code>{r.action}</code>
                  </td>
                  <td data-label="Name">
                    {r.name ?? "—"}
                    {r.scope && <span class="muted small-text"> ({r.scope}{r.version ? ` v${r.version}` : ""})</span>}
                  </td>
                  <td data-label="Who">
                    {r.actor_type}{" "}
                    {r.actor_type === "run" && r.actor_id ? (
                      <a href={appPath(app.name, "runs", r.actor_id)}>
                        <code class="small-text">{r.actor_id}</code>
                      </a>
                    ) : (
                      <code class="small-text">{r.actor_id ?? ""}</code>
                    )}
                  </td>
                  <td data-label="Outcome">
                    <Badge tone={r.outcome === "ok" ? "ok" : "bad"}>{r.outcome}</Badge>
                  </td>
                  <td data-label="Details" class="details-cell">
                    <Details value={r.details} />
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

/** An audit row's details: a flat object as name/value lines, anything else as JSON. */
function Details({ value }: { value: unknown }) {
  if (value == null) return <>—</>;
  if (typeof value !== "object" || Array.isArray(value)) return <code class="small-text">{JSON.stringify(value)}</code>;
  return (
    <dl class="kv">
      {Object.entries(value as Record<string, unknown>).map(([k, v]) => (
        <Fragment key={k}>
          <dt>{k}</dt>
          <dd>{typeof v === "string" ? v : JSON.stringify(v)}</dd>
        </Fragment>
      ))}
    </dl>
  );
}
