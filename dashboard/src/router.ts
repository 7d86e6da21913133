import { useEffect, useState } from "preact/hooks";

// Client-side routes on real paths (`/apps/billing/runs?status=error`): the
// manager answers index.html for any path outside the API, so a reload or a
// pasted link lands on the same view.

export interface Location {
  path: string;
  query: URLSearchParams;
}

const listeners = new Set<() => void>();
const notify = () => listeners.forEach((l) => l());
window.addEventListener("popstate", notify);

function current(): Location {
  return { path: window.location.pathname, query: new URLSearchParams(window.location.search) };
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === window.location.pathname + window.location.search) return;
  if (options.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  window.scrollTo(0, 0);
  notify();
}

/** Replaces the query string (filters) without adding a history entry per keystroke. */
export function setQuery(values: Record<string, string | undefined>): void {
  const query = new URLSearchParams(window.location.search);
  for (const [k, v] of Object.entries(values)) {
    if (v) query.set(k, v);
    else query.delete(k);
  }
  const search = query.toString();
  navigate(window.location.pathname + (search ? `?${search}` : ""), { replace: true });
}

export function useLocation(): Location {
  const [location, setLocation] = useState(current);
  useEffect(() => {
    const listener = () => setLocation(current());
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }, []);
  return location;
}

/** Same-origin links go through the router; modified clicks open new tabs as usual. */
export function onLinkClick(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = (event.target as Element | null)?.closest?.("a");
  if (!anchor || anchor.target || anchor.hasAttribute("download")) return;
  const url = new URL(anchor.href, window.location.href);
  if (url.origin !== window.location.origin || url.pathname.startsWith("/api/")) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
}

/** `/apps/:app/:tab/:id?` */
export function parseAppPath(path: string): { appId: string; tab: string; id: string | undefined } | null {
  const match = /^\/apps\/([^/]+)(?:\/([^/]+)(?:\/([^/]+))?)?\/?$/.exec(path);
  if (!match?.[1]) return null;
  return { appId: decodeURIComponent(match[1]), tab: match[2] ?? "secrets", id: match[3] ? decodeURIComponent(match[3]) : undefined };
}

export const appPath = (appId: string, tab: string, id?: string) =>
  `/apps/${encodeURIComponent(appId)}/${tab}${id ? `/${encodeURIComponent(id)}` : ""}`;
