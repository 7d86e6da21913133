import { Fragment } from "preact";
import { useEffect } from "preact/hooks";
import { api } from "../api/admin.ts";
import type { App, SecretEntry } from "../api/types.ts";
import { revealRefusal, useIdentity } from "../identity.ts";
import { Badge, ConfirmButton, ErrorText, Loading, Time } from "../ui/bits.tsx";
import { useAction, useExpiring, useLoad } from "../ui/hooks.ts";
import { ListHead } from "../ui/lists.tsx";
import { placeOf, SCOPE_LABEL } from "./secret-place.ts";

/** How long a revealed value stays on screen before it is dropped on its own. */
const REVEAL_MS = 60_000;

/** One secret: its metadata, and on demand its versions, a reveal, a delete. */
export function SecretRow(props: { app: App; secret: SecretEntry; open: boolean; onToggle: () => void; onChanged: () => Promise<void> }) {
  const { app, secret } = props;
  const place = placeOf(app, secret.scope);
  const detailsId = `secret-${secret.scope}-${secret.name}`;
  const remove = useAction(async () => {
    await api.secrets.remove(place, secret.name);
    await props.onChanged();
  });
  return (
    <>
      <tr class={props.open ? "expanded" : undefined}>
        <td data-label="Name">
          <code class="secret-name">{secret.name}</code>
        </td>
        <td data-label="Scope">
          <Badge tone={secret.scope === "app" ? "info" : "muted"}>{SCOPE_LABEL[secret.scope]}</Badge>
          {secret.overrides.length > 0 && <span class="muted small-text"> wins over {secret.overrides.map((s) => SCOPE_LABEL[s]).join(", ")}</span>}
          {secret.scope !== "app" && <span class="muted small-text"> (inherited)</span>}
        </td>
        <td data-label="Version">v{secret.version}</td>
        <td data-label="Bound to">
          <BoundHosts hosts={secret.bound_hosts} />
        </td>
        <td data-label="Last change">
          <Time at={secret.updated_at} />
        </td>
        <td class="row-actions">
          <button type="button" class="small" aria-expanded={props.open} aria-controls={detailsId} onClick={props.onToggle}>
            {props.open ? "Close" : "Details"}
          </button>
          <ConfirmButton
            label="Delete"
            confirm={`Delete ${secret.name} (${SCOPE_LABEL[secret.scope]}) and all its versions?`}
            busy={remove.busy}
            class="danger small"
            onConfirm={() => void remove.run()}
          />
          <ErrorText error={remove.error} />
        </td>
      </tr>
      {props.open && (
        <tr class="details-row" id={detailsId}>
          <td colSpan={6}>
            <SecretDetails app={app} secret={secret} onChanged={props.onChanged} />
          </td>
        </tr>
      )}
    </>
  );
}

function SecretDetails({ app, secret, onChanged }: { app: App; secret: SecretEntry; onChanged: () => Promise<void> }) {
  const place = placeOf(app, secret.scope);
  const versions = useLoad(() => api.secrets.versions(place, secret.name), [secret.scope, secret.name, secret.version]);
  const rollback = useAction(async (version: number) => {
    await api.secrets.rollback(place, secret.name, version);
    await onChanged();
  });
  return (
    <div class="secret-details">
      {secret.bound_hosts && (
        <p class="muted" role="note">
          Host-bound: scripts get a placeholder, never the value; it is sent only in a fetch to {secret.bound_hosts.join(", ")}.
        </p>
      )}
      <Reveal app={app} secret={secret} />
      <h3>Versions</h3>
      <Loading when={versions.loading && !versions.data} />
      <ErrorText error={versions.error} />
      <ErrorText error={rollback.error} />
      {versions.data && (
        <table class="list compact" aria-label={`Versions of ${secret.name}`}>
          <ListHead columns={["Version", "Set", "By", "How", "Bound to"]} actions />
          <tbody>
            {versions.data.map((v) => (
              <tr key={v.version}>
                <td data-label="Version">
                  v{v.version} {v.current && <Badge tone="ok">current</Badge>}
                </td>
                <td data-label="Set">
                  <Time at={v.created_at} />
                </td>
                <td data-label="By">
                  <code>{v.created_by}</code>
                </td>
                <td data-label="How">{v.origin}</td>
                <td data-label="Bound to">
                  <BoundHosts hosts={v.bound_hosts} />
                </td>
                <td class="row-actions">
                  {!v.current && (
                    <ConfirmButton
                      label={`Roll back to v${v.version}`}
                      confirm={`Make v${v.version}'s value current again (as a new version)?`}
                      class="small"
                      busy={rollback.busy}
                      onConfirm={() => void rollback.run(v.version)}
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** A binding's hosts, or a muted "not bound" when scripts may read the value. */
function BoundHosts({ hosts }: { hosts: string[] | null }) {
  if (!hosts || hosts.length === 0) return <span class="muted">not bound</span>;
  return (
    <span class="bound-hosts">
      {hosts.map((h, i) => (
        <Fragment key={h}>
          {i > 0 && ", "}
          <code>{h}</code>
        </Fragment>
      ))}
    </span>
  );
}

/**
 * Reveals the current value on request (the service audits it). It stays
 * until "Hide", a minute passing, or the row closing; then it is dropped.
 * A token that may not reveal (by whoami, or after a 403) is not offered it.
 */
function Reveal({ app, secret }: { app: App; secret: SecretEntry }) {
  const [value, setValue] = useExpiring<string>(REVEAL_MS);
  const identity = useIdentity();
  const denied = revealRefusal(identity, secret.scope);
  const reveal = useAction(async () => {
    try {
      const answer = await api.secrets.reveal(placeOf(app, secret.scope), secret.name);
      setValue(typeof answer.value === "string" ? answer.value : JSON.stringify(answer.value, null, 2));
    } catch (e) {
      // Whoami could not say, or was wrong: no row offers a reveal again for this token.
      if ((e as { status?: number }).status === 403) {
        identity.denyReveal((e as Error).message);
        return;
      }
      throw e;
    }
  });
  useEffect(() => () => setValue(undefined), [setValue]);

  if (denied) {
    return (
      <p class="muted" role="note">
        This token may not reveal values ({denied}).
      </p>
    );
  }
  return (
    <div class="reveal">
      {value === undefined ? (
        <button type="button" class="small" disabled={reveal.busy} onClick={() => void reveal.run()}>
          Reveal value
        </button>
      ) : (
        <>
          <pre class="revealed" aria-label={`Value of ${secret.name}`}>
            {value}
          </pre>
          <button type="button" class="small" onClick={() => setValue(undefined)}>
            Hide
          </button>
          <span class="muted small-text"> Revealing is audited. Hidden again in a minute.</span>
        </>
      )}
      <ErrorText error={reveal.error} />
    </div>
  );
}
