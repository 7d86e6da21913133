// The API token lives in sessionStorage: it is gone when the tab closes and
// other tabs do not see it. A link `/#token=sy_...` signs in directly; the
// fragment never reaches the server or its logs, and is taken off the address
// bar at once so it does not stay in history.

const KEY = "switchyard.token";

export function readToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}

/** Takes a `#token=...` fragment, if any, into storage and strips it from the URL. */
export function adoptTokenFromFragment(): boolean {
  const hash = window.location.hash;
  if (!hash.startsWith("#")) return false;
  const params = new URLSearchParams(hash.slice(1));
  const token = params.get("token");
  if (!token) return false;
  saveToken(token.trim());
  history.replaceState(history.state, "", window.location.pathname + window.location.search);
  return true;
}
