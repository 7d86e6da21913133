import { useEffect, useMemo, useState } from "preact/hooks";
import { api } from "../api/admin.ts";
import { onSignedOut } from "../api/client.ts";
import type { App } from "../api/types.ts";
import { IdentityContext, scopesLabel, type Identity } from "../identity.ts";
import { appPath, navigate, onLinkClick, parseAppPath, useLocation } from "../router.ts";
import { adoptTokenFromFragment, clearToken, readToken } from "../session.ts";
import { ErrorText, Loading } from "../ui/bits.tsx";
import { useLoad } from "../ui/hooks.ts";
import { AppsPage } from "./apps.tsx";
import { AuditPage } from "./audit.tsx";
import { ConnectivityPage } from "./connectivity.tsx";
import { DeadLettersPage } from "./dead-letters.tsx";
import { MailPage } from "./mail.tsx";
import { OverviewPage } from "./overview.tsx";
import { RunsPage } from "./runs.tsx";
import { ScriptsPage } from "./scripts.tsx";
import { SecretsPage } from "./secrets.tsx";
import { SignIn } from "./sign-in.tsx";
import { TriggersPage } from "./triggers.tsx";

export const TABS = [
  { id: "overview", label: "Overview" },
  { id: "secrets", label: "Secrets" },
  { id: "scripts", label: "Scripts" },
  { id: "triggers", label: "Triggers" },
  { id: "runs", label: "Runs" },
  { id: "dead-letters", label: "Dead letters" },
  { id: "mail", label: "Mail" },
  { id: "connectivity", label: "Connectivity" },
  { id: "audit", label: "Audit" },
] as const;

/** The frame: signed in or not, the app switcher, the tabs, and the view the path names. */
export function Shell() {
  const [token, setToken] = useState(readToken);
  const [expired, setExpired] = useState(false);
  useEffect(
    () =>
      onSignedOut(() => {
        setExpired(true);
        setToken(null);
      }),
    [],
  );
  useEffect(() => {
    const adopt = () => adoptTokenFromFragment() && setToken(readToken());
    window.addEventListener("hashchange", adopt);
    return () => window.removeEventListener("hashchange", adopt);
  }, []);
  useEffect(() => {
    document.addEventListener("click", onLinkClick);
    return () => document.removeEventListener("click", onLinkClick);
  }, []);

  if (!token) {
    return (
      <SignIn
        expired={expired}
        onSignedIn={() => {
          setExpired(false);
          setToken(readToken());
        }}
      />
    );
  }
  // Keyed by the token: a new token (a second `#token=` link) loads its own identity.
  return (
    <SignedIn
      key={token}
      onSignOut={() => {
        clearToken();
        setToken(null);
        navigate("/");
      }}
    />
  );
}

function SignedIn({ onSignOut }: { onSignOut: () => void }) {
  const location = useLocation();
  const apps = useLoad(() => api.apps.list(), []);
  // Once per sign-in. If it fails, views still work and learn limits from 403s.
  const whoami = useLoad(() => api.whoami(), []);
  const [revealDenied, denyReveal] = useState<string | null>(null);
  const identity = useMemo<Identity>(() => ({ whoami: whoami.data, revealDenied, denyReveal }), [whoami.data, revealDenied]);
  const route = parseAppPath(location.path);
  const current = route ? apps.data?.find((a) => a.id === route.appId || a.name === route.appId) : undefined;

  useEffect(() => {
    document.title = current ? `${current.name} · ${tabLabel(route?.tab)} · Switchyard` : location.path === "/overview" ? "Overview · Switchyard" : "Switchyard";
  }, [current, route?.tab, location.path]);

  return (
    <IdentityContext.Provider value={identity}>
      <div class="layout">
        <header class="topbar">
          <a class="brand" href="/">
            Switchyard
          </a>
          <a class="topbar-link" href="/overview" aria-current={location.path === "/overview" ? "page" : undefined}>
            Overview
          </a>
          {apps.data && apps.data.length > 0 && (
            <label class="app-switch">
              <span class="visually-hidden">App</span>
              <select
                aria-label="App"
                value={current?.id ?? ""}
                onChange={(e) => {
                  const picked = apps.data?.find((a) => a.id === (e.target as HTMLSelectElement).value);
                  navigate(picked ? appPath(picked.name, route?.tab ?? "secrets") : "/");
                }}
              >
                <option value="">All apps…</option>
                {apps.data.map((a) => (
                  <option key={a.id} value={a.id}>
                    {a.name}
                  </option>
                ))}
              </select>
            </label>
          )}
          {whoami.data && (
            <span class="whoami">
              <span class="visually-hidden">Token scopes: </span>
              {scopesLabel(whoami.data)}
            </span>
          )}
          <button type="button" class="link sign-out" onClick={onSignOut}>
            Sign out
          </button>
        </header>
        {route ? (
          <AppView appRef={route.appId} tab={route.tab} id={route.id} app={current} appsLoading={apps.loading} onAppsChanged={apps.reload} />
        ) : location.path === "/overview" ? (
          <main class="content">
            <OverviewPage app={null} />
          </main>
        ) : location.path === "/" || location.path === "/apps" ? (
          <main class="content">
            <AppsPage apps={apps} />
          </main>
        ) : (
          <main class="content">
            <h1>Not found</h1>
            <p>
              Nothing lives at <code>{location.path}</code>. <a href="/">Go to the apps</a>.
            </p>
          </main>
        )}
      </div>
    </IdentityContext.Provider>
  );
}

const tabLabel = (tab: string | undefined) => TABS.find((t) => t.id === tab)?.label ?? "";

function AppView(props: { appRef: string; tab: string; id: string | undefined; app: App | undefined; appsLoading: boolean; onAppsChanged: () => Promise<void> }) {
  // The list may not know an app created elsewhere a moment ago: ask for it by id or name.
  const fetched = useLoad(() => (props.app ? Promise.resolve(props.app) : api.apps.get(props.appRef)), [props.appRef, props.app?.id]);
  const app = props.app ?? fetched.data;
  return (
    <>
      <nav class="tabs" aria-label="App sections">
        {TABS.map((t) => (
          <a key={t.id} href={appPath(app?.name ?? props.appRef, t.id)} aria-current={props.tab === t.id ? "page" : undefined}>
            {t.label}
          </a>
        ))}
      </nav>
      <main class="content">
        {!app ? (
          <>
            <Loading when={fetched.loading} />
            <ErrorText error={fetched.error} />
          </>
        ) : (
          <TabView app={app} tab={props.tab} id={props.id} />
        )}
      </main>
    </>
  );
}

function TabView({ app, tab, id }: { app: App; tab: string; id: string | undefined }) {
  switch (tab) {
    case "overview":
      return <OverviewPage app={app} />;
    case "secrets":
      return <SecretsPage app={app} />;
    case "scripts":
      return <ScriptsPage app={app} id={id} />;
    case "triggers":
      return <TriggersPage app={app} />;
    case "runs":
      return <RunsPage app={app} id={id} />;
    case "dead-letters":
      return <DeadLettersPage app={app} id={id} />;
    case "mail":
      return <MailPage app={app} id={id} />;
    case "connectivity":
      return <ConnectivityPage app={app} />;
    case "audit":
      return <AuditPage app={app} />;
    default:
      return (
        <p>
          No such section. <a href={appPath(app.name, "secrets")}>Secrets</a>
        </p>
      );
  }
}
