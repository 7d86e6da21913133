import { useState } from "preact/hooks";
import { api } from "../api/admin.ts";
import type { App, Script, Trigger } from "../api/types.ts";
import { appPath } from "../router.ts";
import { Badge, ConfirmButton, CopyButton, ErrorText } from "../ui/bits.tsx";
import { useAction, useLoad } from "../ui/hooks.ts";
import { WholeList } from "../ui/lists.tsx";
import { EmailEndpoints, SendTestEmail, signingOf } from "./email-trigger.tsx";
import { KIND_LABEL, TriggerForm } from "./trigger-form.tsx";

/**
 * The app's triggers. A just-created email trigger's signing secret is held
 * in memory for this visit (so "send test email" can sign) and shown until
 * hidden; leaving the page drops it.
 */
export function TriggersPage({ app }: { app: App }) {
  const triggers = useLoad(() => api.triggers.list(app.id), [app.id]);
  const scripts = useLoad(() => api.scripts.list(app.id), [app.id]);
  const [editing, setEditing] = useState<Trigger | "new" | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [secrets, setSecrets] = useState<Record<string, string>>({});
  const [showing, setShowing] = useState<string | null>(null);

  const saved = async (t: Trigger) => {
    if (t.signing_secret) {
      setSecrets((s) => ({ ...s, [t.id]: t.signing_secret as string }));
      setShowing(t.id);
    }
    setEditing(null);
    setOpen(t.id);
    await triggers.reload();
  };

  return (
    <>
      <div class="page-head row">
        <h1>Triggers</h1>
        {editing === null && (
          <button type="button" class="primary" onClick={() => setEditing("new")}>
            New trigger
          </button>
        )}
      </div>
      {editing !== null && scripts.data && (
        <TriggerForm
          key={editing === "new" ? "new" : editing.id}
          app={app}
          scripts={scripts.data}
          triggers={triggers.data ?? []}
          trigger={editing === "new" ? null : editing}
          onSaved={(t) => void saved(t)}
          onCancel={() => setEditing(null)}
        />
      )}
      <ErrorText error={scripts.error} />
      <WholeList loaded={triggers} empty={editing === null ? "No triggers yet. An email, a webhook, a schedule or a dead letter can run a script." : null}>
        {(shown) => (
          <ul class="trigger-list" aria-label="Triggers">
            {shown.map((t) => (
              <TriggerItem
                key={t.id}
                app={app}
                trigger={t}
                scripts={scripts.data ?? []}
                open={open === t.id}
                secret={secrets[t.id]}
                showSecret={showing === t.id}
                onHideSecret={() => setShowing(null)}
                onToggle={() => setOpen((o) => (o === t.id ? null : t.id))}
                onEdit={() => setEditing(t)}
                onChanged={triggers.reload}
              />
            ))}
          </ul>
        )}
      </WholeList>
    </>
  );
}

function TriggerItem(props: {
  app: App;
  trigger: Trigger;
  scripts: Script[];
  open: boolean;
  secret: string | undefined;
  showSecret: boolean;
  onHideSecret: () => void;
  onToggle: () => void;
  onEdit: () => void;
  onChanged: () => Promise<void>;
}) {
  const { app, trigger: t } = props;
  const toggle = useAction(async (enabled: boolean) => {
    await api.triggers.update(app.id, t.id, { enabled });
    await props.onChanged();
  });
  const remove = useAction(async () => {
    await api.triggers.remove(app.id, t.id);
    await props.onChanged();
  });
  const script = props.scripts.find((s) => s.id === t.script_id);
  return (
    <li class="trigger card" aria-label={`Trigger ${t.name}`}>
      <div class="trigger-head">
        <div class="trigger-title">
          <strong>{t.name}</strong> <Badge tone="info">{KIND_LABEL[t.kind]}</Badge> {!t.enabled && <Badge tone="warn">disabled</Badge>}
          <div class="muted small-text">
            runs <a href={appPath(app.name, "scripts", t.script_id)}>{script?.name ?? t.script_id}</a> · {summary(t)} · {t.retry.max_attempts}{" "}
            {t.retry.max_attempts === 1 ? "attempt" : "attempts"} ({t.retry.backoff}, {t.retry.base_ms} ms)
          </div>
        </div>
        <div class="row-actions">
          <label class="check small-text">
            <input type="checkbox" checked={t.enabled} disabled={toggle.busy} onChange={(e) => void toggle.run((e.target as HTMLInputElement).checked)} /> enabled
          </label>
          <button type="button" class="small" aria-expanded={props.open} onClick={props.onToggle}>
            {props.open ? "Close" : "Details"}
          </button>
          <button type="button" class="small" onClick={props.onEdit}>
            Edit
          </button>
          <ConfirmButton label="Delete" confirm={`Delete trigger ${t.name}?`} class="danger small" busy={remove.busy} onConfirm={() => void remove.run()} />
        </div>
      </div>
      <ErrorText error={toggle.error} />
      <ErrorText error={remove.error} />
      {(props.open || props.showSecret) && (
        <div class="trigger-body">
          {t.kind === "email" && (
            <>
              <EmailEndpoints trigger={t} secret={props.showSecret ? props.secret : undefined} onHideSecret={props.onHideSecret} />
              <SendTestEmail app={app} trigger={t} secret={props.secret} />
            </>
          )}
          {t.kind === "http" && t.url && (
            <div class="endpoint">
              <span class="endpoint-label">URL</span>
              <code class="endpoint-value">{new URL(t.url, window.location.origin).toString()}</code>
              <CopyButton text={new URL(t.url, window.location.origin).toString()} />
            </div>
          )}
          <p class="small-text">
            <a href={`${appPath(app.name, "runs")}?trigger_id=${encodeURIComponent(t.id)}`}>Runs of this trigger</a> ·{" "}
            <a href={`${appPath(app.name, "dead-letters")}?trigger_id=${encodeURIComponent(t.id)}`}>its dead letters</a>
          </p>
        </div>
      )}
    </li>
  );
}

function summary(t: Trigger): string {
  const c = t.config;
  switch (t.kind) {
    case "cron":
      return `${String(c.schedule)} (${String(c.timezone ?? "UTC")})`;
    case "http":
      return "POST to its URL";
    case "dead_letter": {
      const kinds = Array.isArray(c.source_kinds) && c.source_kinds.length > 0 ? (c.source_kinds as string[]).join(", ") : "any kind";
      return `dead letters of ${kinds}`;
    }
    case "connectivity": {
      const hosts = Array.isArray(c.hosts) && c.hosts.length > 0 ? (c.hosts as string[]).join(", ") : "any destination";
      const statuses = Array.isArray(c.statuses) && c.statuses.length > 0 ? (c.statuses as string[]).join(" or ") : "any status";
      return `${hosts} becoming ${statuses}`;
    }
    case "secret_changed": {
      const scopes = Array.isArray(c.scopes) && c.scopes.length > 0 ? (c.scopes as string[]).join(", ") : "any scope";
      const names = Array.isArray(c.names) && c.names.length > 0 ? (c.names as string[]).join(", ") : "any name";
      return `secrets of ${scopes} named ${names}`;
    }
    case "email": {
      const mode = signingOf(t);
      return `${String(c.provider ?? "generic")}, ${mode === "none" ? "unsigned" : mode === "mailgun" ? "Mailgun-signed" : "signed"}`;
    }
  }
}
