// The dashboard's page: sign-in, then a view per hash route (#/overview, #/apps, #/explore,
// #/playground, #/tail), each reading the server's JSON API (api.ts).
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setCsrf, type AppInfo, type SessionInfo } from './api.js';
import { AppsView } from './apps.js';
import { ExplorerView } from './explorer.js';
import { OverviewView } from './overview.js';
import { PlaygroundView } from './playground.js';
import { SignIn } from './signin.js';
import { TailView } from './tail.js';
import { navigate } from './nav.js';

export interface Route {
  readonly view: string;
  readonly params: URLSearchParams;
}

function readRoute(): Route {
  const hash = window.location.hash.replace(/^#\/?/, '');
  const [view, query] = hash.split('?');
  return { view: view || 'overview', params: new URLSearchParams(query ?? '') };
}

const VIEWS: [string, string][] = [
  ['overview', 'Overview'],
  ['apps', 'Apps & keys'],
  ['explore', 'Feed explorer'],
  ['playground', 'Ranking playground'],
  ['tail', 'Realtime tail'],
];

function App() {
  const [session, setSession] = useState<SessionInfo | null>(null);
  const [checked, setChecked] = useState(false);
  const [operatorSignIn, setOperatorSignIn] = useState(false);
  const [route, setRoute] = useState(readRoute);
  const [appId, setAppId] = useState<string | null>(null);

  useEffect(() => {
    const onHash = () => setRoute(readRoute());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const accept = (s: SessionInfo) => {
    setCsrf(s.csrf);
    setSession(s);
    setAppId((cur) => cur ?? s.apps[0]?.app_id ?? null);
  };

  useEffect(() => {
    // 200 with the session, or 401 saying whether an operator token can sign in.
    fetch('/dashboard/api/session', { credentials: 'same-origin' })
      .then(async (r) => {
        const body = await r.json();
        if (r.ok) accept(body as SessionInfo);
        else setOperatorSignIn((body as { operator_sign_in?: boolean }).operator_sign_in === true);
      })
      .catch(() => {})
      .finally(() => setChecked(true));
  }, []);

  if (!session) return checked ? <SignIn operator={operatorSignIn} onSignedIn={accept} /> : <div class="loading">Loading…</div>;

  const routeApp = route.params.get('app');
  const app: AppInfo | undefined = session.apps.find((a) => a.app_id === (routeApp ?? appId)) ?? session.apps[0];
  const signOut = async () => {
    await api.signOut().catch(() => {});
    setSession(null);
    setChecked(true);
  };
  let view;
  if (!app) view = <p>No app is open to this session.</p>;
  else if (route.view === 'apps') view = <AppsView apps={session.apps} />;
  else if (route.view === 'explore') view = <ExplorerView app={app} params={route.params} />;
  else if (route.view === 'playground') view = <PlaygroundView app={app} params={route.params} />;
  else if (route.view === 'tail') view = <TailView app={app} params={route.params} />;
  else view = <OverviewView />;

  return (
    <div class="layout">
      <header class="top">
        <div class="brand">
          <img src="/dashboard/favicon.svg" alt="" width="24" height="24" /> Rivulet
        </div>
        <nav>
          {VIEWS.map(([v, label]) => (
            <a key={v} href={`#/${v}${app && v !== 'overview' && v !== 'apps' ? `?app=${encodeURIComponent(app.app_id)}` : ''}`} class={route.view === v ? 'active' : ''}>
              {label}
            </a>
          ))}
        </nav>
        <div class="who">
          {session.apps.length > 1 && app ? (
            <select
              aria-label="app"
              value={app.app_id}
              onChange={(e) => {
                const id = (e.target as HTMLSelectElement).value;
                setAppId(id);
                navigate(route.view, { app: id });
              }}
            >
              {session.apps.map((a) => (
                <option key={a.app_id} value={a.app_id}>
                  app {a.app_id}
                </option>
              ))}
            </select>
          ) : (
            <span>app {app?.app_id}</span>
          )}
          <span class="muted" data-testid="session-kind">
            {session.kind === 'operator' ? 'operator' : `key ${session.apps[0]?.api_key}`}
          </span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main>{view}</main>
    </div>
  );
}

render(<App />, document.getElementById('root')!);
