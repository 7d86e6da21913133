import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { ApiError } from "../api/client.ts";

/**
 * An API error in words, placed beside whatever caused it. Field issues the
 * form already shows next to their field can be left out with `except`.
 */
export function ErrorText({ error, except = [] }: { error: ApiError | null | undefined; except?: string[] }) {
  if (!error) return null;
  const issues = error.issues.filter((i) => !except.some((field) => i.path === field || i.path.endsWith(`.${field}`)));
  return (
    <div class="error" role="alert">
      <p>{sentence(error)}</p>
      {issues.length > 0 && (
        <ul>
          {issues.map((i) => (
            <li key={i.path + i.message}>{i.path ? `${i.path}: ${i.message}` : i.message}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The server's message, with a hint where the status says more than the words. */
function sentence(error: ApiError): string {
  const message = error.message.charAt(0).toUpperCase() + error.message.slice(1);
  if (error.status === 403) return `Not allowed: ${error.message}.`;
  if (error.status === 401) return "Your token is not valid any more. Sign in again.";
  if (error.status === 404 && error.code === "not_found") return `${message}.`;
  if (error.status === 503 && error.code === "audit_unavailable") return `${message} (nothing was changed).`;
  return /[.!?]$/.test(message) ? message : `${message}.`;
}

/** The message for one field, shown under it. */
export function FieldError({ error, field, id }: { error: ApiError | null | undefined; field: string; id?: string }) {
  const message = error?.issueFor(field);
  if (!message) return null;
  return (
    <span class="field-error" id={id} role="alert">
      {message}
    </span>
  );
}

export function Json({ value, label }: { value: unknown; label?: string }) {
  const text = value === undefined ? "(none)" : JSON.stringify(value, null, 2);
  return (
    <pre class="json" aria-label={label} tabIndex={0}>
      {text}
    </pre>
  );
}

/** An ISO time as the reader's local time, with the exact value on hover. */
export function Time({ at }: { at: string | null | undefined }) {
  if (!at) return <span class="muted">—</span>;
  const date = new Date(at);
  const sameDay = new Date().toDateString() === date.toDateString();
  const text = sameDay ? date.toLocaleTimeString() : date.toLocaleString();
  return (
    <time dateTime={at} title={date.toISOString()}>
      {text}
    </time>
  );
}

export function Badge({ tone, children }: { tone: string; children: ComponentChildren }) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
}

const STATUS_TONE: Record<string, string> = { ok: "ok", sent: "ok", captured: "info", running: "info", error: "bad", failed: "bad", timeout: "warn", oom: "warn" };
export const StatusBadge = ({ status }: { status: string }) => <Badge tone={STATUS_TONE[status] ?? "muted"}>{status}</Badge>;

/** Copies text to the clipboard; says so for a moment. */
export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (state === "idle") return;
    const timer = setTimeout(() => setState("idle"), 2000);
    return () => clearTimeout(timer);
  }, [state]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState("copied");
    } catch {
      setState("failed");
    }
  };
  return (
    <button type="button" class="small" onClick={copy} aria-live="polite">
      {state === "copied" ? "Copied" : state === "failed" ? "Copy failed: select and copy" : label}
    </button>
  );
}

/** A destructive button that asks once, inline, before it acts. */
export function ConfirmButton({
  label,
  confirm,
  onConfirm,
  busy,
  class: className = "danger",
}: {
  label: string;
  confirm: string;
  onConfirm: () => void;
  busy?: boolean;
  class?: string;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" class={className} disabled={busy} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <span class="confirm" role="group" aria-label={confirm}>
      <span>{confirm}</span>
      <button
        type="button"
        class="danger"
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        Yes, {label.toLowerCase()}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

/** "Load more" under a list the API pages. */
export function LoadMore({ more, loading, onMore }: { more: boolean; loading: boolean; onMore: () => void }) {
  if (!more) return null;
  return (
    <div class="load-more">
      <button type="button" disabled={loading} onClick={onMore}>
        {loading ? "Loading…" : "Load more"}
      </button>
    </div>
  );
}

/** Shows a long list a page at a time when the API answers it whole. */
export function useClientPages<T>(items: T[], size = 50): { shown: T[]; more: boolean; showMore: () => void } {
  const [count, setCount] = useState(size);
  return { shown: items.slice(0, count), more: items.length > count, showMore: () => setCount((c) => c + size) };
}

/** One name and value of a `<dl class="facts">`. */
export function Fact({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

export function Loading({ when }: { when: boolean }) {
  return when ? (
    <p class="muted" aria-live="polite">
      Loading…
    </p>
  ) : null;
}
