import { useRef, useState } from "preact/hooks";
import { api } from "../api/admin.ts";
import type { App, RetryPolicy, Script, Trigger, TriggerKind } from "../api/types.ts";
import { TRIGGER_KINDS } from "../api/types.ts";
import { appPath } from "../router.ts";
import { ErrorText, FieldError } from "../ui/bits.tsx";
import { useAction } from "../ui/hooks.ts";
import { PROVIDER_INFO, PROVIDERS, type Provider } from "../email/samples.ts";
import { ExpectedPayload } from "./email-trigger.tsx";

export const KIND_LABEL: Record<TriggerKind, string> = { email: "Email", http: "HTTP webhook", cron: "Schedule (cron)", dead_letter: "Dead letters", connectivity: "Connectivity", secret_changed: "Secret changed" };

const KIND_HELP: Record<TriggerKind, string> = {
  email: "Runs the script for each inbound email, posted by a provider's webhook (or received over SMTP when the listener runs).",
  http: "Runs the script for each POST to the trigger's unguessable URL.",
  cron: "Runs the script on a schedule. Each tick fires once, however many workers run.",
  dead_letter: "Runs the script for each dead letter of this app that matches (empty: all).",
  connectivity: "Runs the script once each time a destination this app's scripts fetch changes status (healthy, degraded, down), for example to send an alert.",
  secret_changed: "Runs the script once for each change of a secret this app reads (its own, its workspace's, a global one): set, binding change, rollback, delete. The event names the secret, never its value.",
};

const SECRET_SCOPES = ["app", "workspace", "global"] as const;

const STATUSES = ["healthy", "degraded", "down"] as const;

const SOURCE_KINDS = ["manual", "http", "cron", "email"] as const;

interface FormState {
  kind: TriggerKind;
  name: string;
  scriptId: string;
  enabled: boolean;
  retry: { max_attempts: string; backoff: RetryPolicy["backoff"]; base_ms: string };
  maxBodyBytes: string;
  schedule: string;
  timezone: string;
  sourceKinds: string[];
  /** Connectivity: destinations, comma or newline separated (empty: any). */
  hosts: string;
  statuses: string[];
  /** Secret changed: the scopes to hear (none: any), and name patterns, comma or newline separated (empty: any). */
  secretScopes: string[];
  names: string;
  scriptIds: string[];
  triggerIds: string[];
  provider: Provider;
  signing: boolean;
  rateLimit: string;
}

/** Postmark and SendGrid cannot sign with Standard Webhooks, so the service defaults them to unsigned. */
const signsByDefault = (p: Provider) => p !== "postmark" && p !== "sendgrid";

function initial(trigger: Trigger | null, scripts: Script[]): FormState {
  const c = trigger?.config ?? {};
  const arr = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
  return {
    kind: trigger?.kind ?? "email",
    name: trigger?.name ?? "",
    scriptId: trigger?.script_id ?? scripts[0]?.id ?? "",
    enabled: trigger?.enabled ?? true,
    retry: {
      max_attempts: String(trigger?.retry.max_attempts ?? 3),
      backoff: trigger?.retry.backoff ?? "exponential",
      base_ms: String(trigger?.retry.base_ms ?? 1000),
    },
    maxBodyBytes: String(c.max_body_bytes ?? 1048576),
    schedule: String(c.schedule ?? "*/5 * * * *"),
    timezone: String(c.timezone ?? "UTC"),
    sourceKinds: arr(c.source_kinds),
    hosts: arr(c.hosts).join(", "),
    statuses: arr(c.statuses),
    secretScopes: arr(c.scopes),
    names: arr(c.names).join(", "),
    scriptIds: arr(c.script_ids),
    triggerIds: arr(c.trigger_ids),
    provider: (c.provider as Provider | undefined) ?? "generic",
    // Stored as "standard_webhooks" | "mailgun" | "none"; written as a boolean.
    signing: c.signing === undefined ? true : c.signing !== "none" && c.signing !== false,
    rateLimit: String(c.rate_limit_per_minute ?? 600),
  };
}

const timezones = (() => {
  try {
    return (Intl as unknown as { supportedValuesOf(k: string): string[] }).supportedValuesOf("timeZone");
  } catch {
    return ["UTC"];
  }
})();

/**
 * Creates a trigger of any kind, or edits one (its kind stays). The Mailgun
 * signing key is a password field read on submit and emptied after.
 */
export function TriggerForm(props: { app: App; scripts: Script[]; triggers: Trigger[]; trigger: Trigger | null; onSaved: (t: Trigger) => void; onCancel: () => void }) {
  const { app, scripts, trigger } = props;
  const [f, setF] = useState<FormState>(() => initial(trigger, scripts));
  const mailgunKey = useRef<HTMLInputElement>(null);
  const set = <K extends keyof FormState>(k: K, v: FormState[K]) => setF((old) => ({ ...old, [k]: v }));
  const toggle = (k: "sourceKinds" | "scriptIds" | "triggerIds" | "statuses" | "secretScopes", v: string) =>
    setF((old) => ({ ...old, [k]: old[k].includes(v) ? old[k].filter((x) => x !== v) : [...old[k], v] }));

  const [original] = useState(() => JSON.stringify(configOf(initial(trigger, scripts))));
  const save = useAction(async () => {
    const config = configOf(f);
    const key = mailgunKey.current?.value.trim();
    if (mailgunKey.current) mailgunKey.current.value = "";
    // A config left as it was is not sent: for a Mailgun trigger that would need its key again.
    const changed = JSON.stringify(config) !== original || Boolean(key);
    if (f.kind === "email" && f.provider === "mailgun" && key) config.mailgun_signing_key = key;
    const retry: RetryPolicy = { max_attempts: Number(f.retry.max_attempts), backoff: f.retry.backoff, base_ms: Number(f.retry.base_ms) };
    const saved = trigger
      ? await api.triggers.update(app.id, trigger.id, { name: f.name.trim(), script_id: f.scriptId, ...(changed ? { config } : {}), retry, enabled: f.enabled })
      : await api.triggers.create(app.id, { kind: f.kind, name: f.name.trim(), script_id: f.scriptId, config, retry, enabled: f.enabled });
    props.onSaved(saved);
  });
  const e = save.error;
  const id = (s: string) => `trigger-${s}`;

  if (scripts.length === 0) {
    return (
      <p class="notice">
        A trigger runs a script: <a href={appPath(app.name, "scripts", "new")}>write one first</a>.
      </p>
    );
  }

  return (
    <form
      class="card trigger-form"
      aria-label={trigger ? `Edit trigger ${trigger.name}` : "New trigger"}
      autoComplete="off"
      onSubmit={(ev) => {
        ev.preventDefault();
        void save.run();
      }}
    >
      <h2>{trigger ? `Edit ${trigger.name}` : "New trigger"}</h2>
      {!trigger && (
        <fieldset class="kinds">
          <legend>Kind</legend>
          {TRIGGER_KINDS.map((k) => (
            <label key={k} class="radio">
              <input type="radio" name="kind" value={k} checked={f.kind === k} onChange={() => set("kind", k)} /> {KIND_LABEL[k]}
            </label>
          ))}
        </fieldset>
      )}
      <p class="muted">{KIND_HELP[f.kind]}</p>
      <div class="inline-form">
        <div class="field">
          <label for={id("name")}>Name</label>
          <input id={id("name")} value={f.name} required placeholder="inbound-support" spellcheck={false} onInput={(ev) => set("name", (ev.target as HTMLInputElement).value)} />
          <FieldError error={e} field="name" />
        </div>
        <div class="field">
          <label for={id("script")}>Script</label>
          <select id={id("script")} value={f.scriptId} onChange={(ev) => set("scriptId", (ev.target as HTMLSelectElement).value)}>
            {scripts.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
          <FieldError error={e} field="script_id" />
        </div>
      </div>

      {f.kind === "http" && (
        <div class="field">
          <label for={id("max-body")}>Largest body (bytes)</label>
          <input id={id("max-body")} type="number" min={1} value={f.maxBodyBytes} onInput={(ev) => set("maxBodyBytes", (ev.target as HTMLInputElement).value)} />
          <FieldError error={e} field="config.max_body_bytes" />
        </div>
      )}
      {f.kind === "cron" && (
        <div class="inline-form">
          <div class="field">
            <label for={id("schedule")}>Schedule</label>
            <input id={id("schedule")} value={f.schedule} class="mono" spellcheck={false} aria-describedby={id("schedule-help")} onInput={(ev) => set("schedule", (ev.target as HTMLInputElement).value)} />
            <span id={id("schedule-help")} class="muted small-text">
              5 or 6 fields: <code>*/5 * * * *</code> every five minutes, <code>0 9 * * 1-5</code> weekdays at 9.
            </span>
            <FieldError error={e} field="config.schedule" />
          </div>
          <div class="field">
            <label for={id("timezone")}>Time zone</label>
            <input id={id("timezone")} value={f.timezone} list={id("timezones")} onInput={(ev) => set("timezone", (ev.target as HTMLInputElement).value)} />
            <datalist id={id("timezones")}>
              {timezones.map((tz) => (
                <option key={tz} value={tz} />
              ))}
            </datalist>
            <FieldError error={e} field="config.timezone" />
          </div>
        </div>
      )}
      {f.kind === "dead_letter" && (
        <div class="dl-filters">
          <fieldset>
            <legend>From events of kind (none ticked: any)</legend>
            {SOURCE_KINDS.map((k) => (
              <label key={k} class="check">
                <input type="checkbox" checked={f.sourceKinds.includes(k)} onChange={() => toggle("sourceKinds", k)} /> {k}
              </label>
            ))}
          </fieldset>
          <fieldset>
            <legend>From scripts (none ticked: any)</legend>
            {scripts.map((s) => (
              <label key={s.id} class="check">
                <input type="checkbox" checked={f.scriptIds.includes(s.id)} onChange={() => toggle("scriptIds", s.id)} /> {s.name}
              </label>
            ))}
          </fieldset>
          {props.triggers.filter((t) => t.id !== trigger?.id).length > 0 && (
            <fieldset>
              <legend>From triggers (none ticked: any)</legend>
              {props.triggers
                .filter((t) => t.id !== trigger?.id)
                .map((t) => (
                  <label key={t.id} class="check">
                    <input type="checkbox" checked={f.triggerIds.includes(t.id)} onChange={() => toggle("triggerIds", t.id)} /> {t.name}
                  </label>
                ))}
            </fieldset>
          )}
        </div>
      )}
      {f.kind === "connectivity" && (
        <div class="dl-filters">
          <div class="field">
            <label for={id("hosts")}>Destinations (host, host:port or *.domain; comma separated; empty: any)</label>
            <input id={id("hosts")} value={f.hosts} spellcheck={false} onInput={(ev) => set("hosts", (ev.target as HTMLInputElement).value)} />
            <FieldError error={e} field="config.hosts" />
          </div>
          <fieldset>
            <legend>When it becomes (none ticked: any)</legend>
            {STATUSES.map((s) => (
              <label key={s} class="check">
                <input type="checkbox" checked={f.statuses.includes(s)} onChange={() => toggle("statuses", s)} /> {s}
              </label>
            ))}
          </fieldset>
        </div>
      )}
      {f.kind === "secret_changed" && (
        <div class="dl-filters">
          <fieldset>
            <legend>Secrets of (none ticked: any)</legend>
            {SECRET_SCOPES.map((s) => (
              <label key={s} class="check">
                <input type="checkbox" checked={f.secretScopes.includes(s)} onChange={() => toggle("secretScopes", s)} /> {s === "app" ? "this app" : s === "workspace" ? "its workspace" : "global"}
              </label>
            ))}
          </fieldset>
          <FieldError error={e} field="config.scopes" />
          <div class="field">
            <label for={id("names")}>Names (patterns like STRIPE_* or *_TOKEN; comma separated; empty: any)</label>
            <input id={id("names")} value={f.names} class="mono" spellcheck={false} onInput={(ev) => set("names", (ev.target as HTMLInputElement).value)} />
            <FieldError error={e} field="config.names" />
          </div>
        </div>
      )}
      {f.kind === "email" && (
        <>
          <div class="inline-form">
            <div class="field">
              <label for={id("provider")}>Provider</label>
              <select
                id={id("provider")}
                value={f.provider}
                onChange={(ev) => {
                  const provider = (ev.target as HTMLSelectElement).value as Provider;
                  setF((old) => ({ ...old, provider, signing: signsByDefault(provider) }));
                }}
              >
                {PROVIDERS.map((p) => (
                  <option key={p} value={p}>
                    {PROVIDER_INFO[p].label}
                  </option>
                ))}
              </select>
              <FieldError error={e} field="config.provider" />
            </div>
            {f.provider === "mailgun" && (
              <div class="field">
                <label for={id("mailgun-key")}>Mailgun HTTP webhook signing key{trigger ? " (blank: keep the current one)" : ""}</label>
                <input id={id("mailgun-key")} ref={mailgunKey} type="password" required={!trigger} autoComplete="new-password" spellcheck={false} />
                <FieldError error={e} field="config.mailgun_signing_key" />
                <FieldError error={e} field="config.signing" />
              </div>
            )}
            <div class="field">
              <label for={id("rate")}>Most messages a minute</label>
              <input id={id("rate")} type="number" min={1} value={f.rateLimit} onInput={(ev) => set("rateLimit", (ev.target as HTMLInputElement).value)} />
              <FieldError error={e} field="config.rate_limit_per_minute" />
            </div>
          </div>
          {f.provider === "mailgun" ? (
            <p class="muted small-text">Every post is checked with Mailgun's own signature (timestamp, token, signature), made with the key above.</p>
          ) : (
            <label class="check">
              <input type="checkbox" checked={f.signing} onChange={(ev) => set("signing", (ev.target as HTMLInputElement).checked)} /> Require signed requests
              (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature){signsByDefault(f.provider) ? ". Recommended." : ": this provider cannot sign so; its URL is the credential."}
            </label>
          )}
          {f.provider !== "mailgun" && <FieldError error={e} field="config.signing" />}
          <ExpectedPayload provider={f.provider} signing={f.provider === "mailgun" ? "mailgun" : f.signing ? "standard_webhooks" : "none"} />
        </>
      )}

      <fieldset class="retry">
        <legend>Retries</legend>
        <div class="inline-form">
          <div class="field">
            <label for={id("attempts")}>Attempts</label>
            <input id={id("attempts")} type="number" min={1} max={100} value={f.retry.max_attempts} onInput={(ev) => set("retry", { ...f.retry, max_attempts: (ev.target as HTMLInputElement).value })} />
            <FieldError error={e} field="retry.max_attempts" />
          </div>
          <div class="field">
            <label for={id("backoff")}>Backoff</label>
            <select id={id("backoff")} value={f.retry.backoff} onChange={(ev) => set("retry", { ...f.retry, backoff: (ev.target as HTMLSelectElement).value as RetryPolicy["backoff"] })}>
              <option value="exponential">exponential</option>
              <option value="fixed">fixed</option>
            </select>
          </div>
          <div class="field">
            <label for={id("base-ms")}>First delay (ms)</label>
            <input id={id("base-ms")} type="number" min={10} value={f.retry.base_ms} onInput={(ev) => set("retry", { ...f.retry, base_ms: (ev.target as HTMLInputElement).value })} />
            <FieldError error={e} field="retry.base_ms" />
          </div>
        </div>
        <p class="muted small-text">When every attempt fails, the event becomes a dead letter.</p>
      </fieldset>
      <label class="check">
        <input type="checkbox" checked={f.enabled} onChange={(ev) => set("enabled", (ev.target as HTMLInputElement).checked)} /> Enabled
      </label>
      <ErrorText error={e} except={["name", "script_id", "max_body_bytes", "schedule", "timezone", "provider", "mailgun_signing_key", "signing", "rate_limit_per_minute", "max_attempts", "base_ms"]} />
      <div class="actions">
        <button type="submit" class="primary" disabled={save.busy}>
          {save.busy ? "Saving…" : trigger ? "Save trigger" : "Create trigger"}
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function configOf(f: FormState): Record<string, unknown> {
  switch (f.kind) {
    case "http":
      return { max_body_bytes: Number(f.maxBodyBytes) };
    case "cron":
      return { schedule: f.schedule.trim(), timezone: f.timezone.trim() || "UTC" };
    case "dead_letter":
      return { source_kinds: f.sourceKinds, script_ids: f.scriptIds, trigger_ids: f.triggerIds };
    case "email":
      return { provider: f.provider, ...(f.provider === "mailgun" ? {} : { signing: f.signing }), rate_limit_per_minute: Number(f.rateLimit) };
    case "connectivity":
      return { hosts: f.hosts.split(/[\s,]+/).filter(Boolean), statuses: f.statuses };
    case "secret_changed":
      return { scopes: f.secretScopes, names: f.names.split(/[\s,]+/).filter(Boolean) };
  }
}
