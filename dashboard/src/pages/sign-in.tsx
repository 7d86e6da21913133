import { useRef } from "preact/hooks";
import { request } from "../api/client.ts";
import { saveToken } from "../session.ts";
import { ErrorText } from "../ui/bits.tsx";
import { useAction } from "../ui/hooks.ts";

/**
 * Paste an API token. It is checked against the API before it is kept, kept
 * in this tab's sessionStorage only, and the field is emptied either way.
 */
export function SignIn({ onSignedIn, expired }: { onSignedIn: () => void; expired: boolean }) {
  const input = useRef<HTMLInputElement>(null);
  const signIn = useAction(async (token: string) => {
    await request("/api/v1/admin/apps", { token });
    saveToken(token);
    onSignedIn();
  });

  const submit = async (event: Event) => {
    event.preventDefault();
    const field = input.current;
    if (!field) return;
    const token = field.value.trim();
    field.value = "";
    if (token) await signIn.run(token);
  };

  return (
    <main class="sign-in">
      <form class="card" onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Switchyard</h1>
        <p>Sign in with an API token.</p>
        {expired && <p class="notice">Your token stopped working (revoked or expired). Sign in again.</p>}
        <label for="token">API token</label>
        <input
          id="token"
          ref={input}
          type="password"
          name="token"
          autoComplete="off"
          spellcheck={false}
          placeholder="sy_…"
          required
          aria-describedby="token-help"
          aria-invalid={signIn.error ? true : undefined}
        />
        {signIn.error?.status === 401 ? (
          <p class="error" role="alert">
            That token is not valid (or was revoked).
          </p>
        ) : (
          <ErrorText error={signIn.error} />
        )}
        <p id="token-help" class="muted">
          <code>npm run dev</code> prints a link that signs you in, and the token (<code>SWITCHYARD_TOKEN=sy_…</code>) the first time it starts.
          The token stays in this tab only.
        </p>
        <button type="submit" class="primary" disabled={signIn.busy}>
          {signIn.busy ? "Checking…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
