import { useRef, useState } from "preact/hooks";
import { ApiError } from "../api/client.ts";
import type { App, Trigger } from "../api/types.ts";
import { buildSample, EMAIL_EVENT_EXAMPLE, exampleFor, PROVIDER_INFO, type Provider } from "../email/samples.ts";
import { mailgunSignature, parseSigningSecret, standardWebhookHeaders } from "../email/sign.ts";
import { appPath } from "../router.ts";
import { CopyButton, ErrorText } from "../ui/bits.tsx";
import { useAction } from "../ui/hooks.ts";

export type SigningMode = "standard_webhooks" | "mailgun" | "none";

/** How a trigger checks callers; the service stores a mode, older answers a boolean. */
export function signingOf(trigger: Trigger): SigningMode {
  const s = trigger.config.signing;
  if (s === "mailgun" || s === "none" || s === "standard_webhooks") return s;
  if (trigger.config.provider === "mailgun") return "mailgun";
  return s === false ? "none" : "standard_webhooks";
}

/** What the chosen provider posts, and what the script then gets. */
export function ExpectedPayload({ provider, signing }: { provider: Provider; signing: SigningMode }) {
  const sample = exampleFor(provider);
  return (
    <details class="expected-payload" open>
      <summary>Expected request from {PROVIDER_INFO[provider].label}</summary>
      <p class="muted">{PROVIDER_INFO[provider].about}</p>
      <pre class="sample" aria-label={`Sample ${provider} request`}>
        {`POST <inbound URL>\nContent-Type: ${sample.contentType.replace(/; boundary=.*/, "; boundary=…")}${
          signing === "standard_webhooks" ? "\nwebhook-id: msg_…\nwebhook-timestamp: <unix seconds>\nwebhook-signature: v1,<base64 HMAC-SHA256 of \"{id}.{timestamp}.{body}\">" : ""
        }\n\n${sample.body}`}
      </pre>
      <p class="muted">The script receives, whatever the provider:</p>
      <pre class="sample">{EMAIL_EVENT_EXAMPLE}</pre>
    </details>
  );
}

const inboundPath = (trigger: Trigger) => `/api/v1/email-inbound/${encodeURIComponent(trigger.id)}`;
export const inboundUrl = (trigger: Trigger) => trigger.inbound_url ?? new URL(inboundPath(trigger), window.location.origin).toString();

/**
 * Where mail reaches an email trigger. The signing secret is shown only when
 * the service has just answered it (on create); "Hide" takes it off the page.
 */
export function EmailEndpoints({ trigger, secret, onHideSecret }: { trigger: Trigger; secret: string | undefined; onHideSecret: () => void }) {
  const url = inboundUrl(trigger);
  const signing = signingOf(trigger);
  return (
    <div class="endpoints" aria-label={`Endpoints of ${trigger.name}`}>
      <div class="endpoint">
        <span class="endpoint-label">Inbound URL</span>
        <code class="endpoint-value">{url}</code>
        <CopyButton text={url} />
      </div>
      <div class="endpoint">
        <span class="endpoint-label">SMTP address</span>
        {trigger.smtp_address ? (
          <>
            <code class="endpoint-value">{trigger.smtp_address}</code>
            <CopyButton text={trigger.smtp_address} />
          </>
        ) : (
          <span class="muted">{trigger.smtp_address === null ? "the SMTP listener is off (SWITCHYARD_SMTP_LISTEN)" : "not reported"}</span>
        )}
      </div>
      <div class="endpoint">
        <span class="endpoint-label">Signing</span>
        <span>
          {signing === "standard_webhooks"
            ? "required (Standard Webhooks headers, with the trigger's whsec_ secret)"
            : signing === "mailgun"
              ? "Mailgun's signature, with your Mailgun signing key"
              : "off: the unguessable URL is the only credential"}
        </span>
      </div>
      {secret && (
        <div class="once" role="alert" aria-label="Signing secret">
          <p>
            <strong>Signing secret: copy it now.</strong> It is shown this once and stored only sealed.
          </p>
          <div class="endpoint">
            <code class="endpoint-value secret-value">{secret}</code>
            <CopyButton text={secret} />
            <button type="button" class="small" onClick={onHideSecret}>
              I have copied it: hide
            </button>
          </div>
        </div>
      )}
    </div>
  );
}

/**
 * Posts a provider-shaped sample to the trigger, signed in the browser
 * exactly as a provider would sign it. The secret comes from memory (just
 * created) or a password field emptied after use.
 */
export function SendTestEmail({ app, trigger, secret }: { app: App; trigger: Trigger; secret: string | undefined }) {
  const provider = (trigger.config.provider as Provider | undefined) ?? "generic";
  const signing = signingOf(trigger);
  const secretField = useRef<HTMLInputElement>(null);
  const mailgunField = useRef<HTMLInputElement>(null);
  const [from, setFrom] = useState("alice@example.com");
  const [subject, setSubject] = useState("Test from the Switchyard dashboard");
  const [text, setText] = useState("Hello from the dashboard's test button.");
  const [sent, setSent] = useState<{ eventId: string | null; status: number } | null>(null);

  const send = useAction(async () => {
    setSent(null);
    const pasted = secretField.current?.value ?? "";
    const mailgunKey = mailgunField.current?.value ?? "";
    if (secretField.current) secretField.current.value = "";
    if (mailgunField.current) mailgunField.current.value = "";
    const to = trigger.smtp_address ?? "inbox@example.com";
    const message = { from, to, subject, text, html: `<p>${escapeHtml(text)}</p>`, messageId: `<${crypto.randomUUID()}@switchyard.test>` };
    if (signing === "mailgun" && !mailgunKey.trim()) throw new ApiError(0, "signing_key", "Paste the Mailgun signing key to sign the test");
    const sample = buildSample(provider, message, signing === "mailgun" ? await mailgunSignature(mailgunKey.trim()) : undefined);
    const headers: Record<string, string> = { "content-type": sample.contentType };
    if (signing === "standard_webhooks") {
      const key = parseSigningSecret(secret ?? pasted);
      if (!key.ok) throw new ApiError(0, "signing_secret", secret ?? pasted ? key.error : "Paste the trigger's signing secret (whsec_…) to sign the test");
      Object.assign(headers, await standardWebhookHeaders(key.key, sample.body));
    }
    const answer = await fetch(inboundPath(trigger), { method: "POST", headers, body: sample.body, cache: "no-store" }).catch(() => {
      throw new ApiError(0, "network", "The server could not be reached");
    });
    const body = (await answer.json().catch(() => null)) as { event_id?: string; error?: { code: string; message: string; details?: unknown } } | null;
    if (!answer.ok) throw new ApiError(answer.status, body?.error?.code ?? `http_${answer.status}`, body?.error?.message ?? `The inbound endpoint answered ${answer.status}`, body?.error?.details);
    setSent({ eventId: body?.event_id ?? null, status: answer.status });
  });

  return (
    <form
      class="send-test"
      aria-label={`Send a test email to ${trigger.name}`}
      autoComplete="off"
      onSubmit={(e) => {
        e.preventDefault();
        void send.run();
      }}
    >
      <h3>Send a test email</h3>
      <p class="muted small-text">Posts a {PROVIDER_INFO[provider].label} sample to the inbound URL{signing !== "none" ? ", signed here in the browser" : ""}.</p>
      <div class="inline-form">
        <div class="field">
          <label for={`test-from-${trigger.id}`}>From</label>
          <input id={`test-from-${trigger.id}`} type="email" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field grow">
          <label for={`test-subject-${trigger.id}`}>Subject</label>
          <input id={`test-subject-${trigger.id}`} value={subject} onInput={(e) => setSubject((e.target as HTMLInputElement).value)} />
        </div>
      </div>
      <div class="field">
        <label for={`test-text-${trigger.id}`}>Text</label>
        <textarea id={`test-text-${trigger.id}`} rows={2} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
      </div>
      {signing === "standard_webhooks" && !secret && (
        <div class="field">
          <label for={`test-secret-${trigger.id}`}>Signing secret</label>
          <input id={`test-secret-${trigger.id}`} ref={secretField} type="password" placeholder="whsec_…" autoComplete="new-password" spellcheck={false} />
          <span class="muted small-text">Shown once when the trigger was created. Used for this request only.</span>
        </div>
      )}
      {signing === "mailgun" && (
        <div class="field">
          <label for={`test-mailgun-${trigger.id}`}>Mailgun signing key</label>
          <input id={`test-mailgun-${trigger.id}`} ref={mailgunField} type="password" autoComplete="new-password" spellcheck={false} />
        </div>
      )}
      <ErrorText error={send.error} />
      {sent && (
        <p class="success" role="status">
          {sent.status === 200 ? "Accepted as a repeat (same Message-ID): nothing fired." : "Accepted."}{" "}
          {sent.eventId && (
            <>
              Event <code>{sent.eventId}</code>: <a href={`${appPath(app.name, "runs")}?event_id=${encodeURIComponent(sent.eventId)}`}>see its runs</a>
            </>
          )}
        </p>
      )}
      <button type="submit" disabled={send.busy}>
        {send.busy ? "Sending…" : "Send test email"}
      </button>
    </form>
  );
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
