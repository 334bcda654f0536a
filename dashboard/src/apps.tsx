import { useState } from 'preact/hooks';
import { api, type AppInfo } from './api.js';
import { Link } from './nav.js';

/** Apps, their keys (the secret hidden until asked for) and their feed groups. */
export function AppsView(props: { apps: AppInfo[] }) {
  return (
    <div>
      <h1>Apps &amp; keys</h1>
      {props.apps.map((a) => (
        <AppCard key={a.app_id} app={a} />
      ))}
    </div>
  );
}

function AppCard({ app }: { app: AppInfo }) {
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reveal = async () => {
    try {
      setSecret((await api.revealSecret(app.app_id)).api_secret);
    } catch (err) {
      setError(String((err as Error).message));
    }
  };
  return (
    <section class="card" data-testid={`app-${app.app_id}`}>
      <h2>app {app.app_id}</h2>
      <table class="kv">
        <tbody>
          <tr>
            <th>app_id</th>
            <td>
              <code>{app.app_id}</code>
            </td>
          </tr>
          <tr>
            <th>api_key</th>
            <td>
              <code>{app.api_key}</code>
            </td>
          </tr>
          <tr>
            <th>api_secret</th>
            <td>
              {secret === null ? (
                <>
                  <code class="muted">••••••••••••••••</code>{' '}
                  <button type="button" onClick={reveal} data-testid="reveal-secret">
                    Show secret
                  </button>
                </>
              ) : (
                <>
                  <code data-testid="secret">{secret}</code>{' '}
                  <button type="button" onClick={() => setSecret(null)}>
                    Hide
                  </button>
                </>
              )}
              {error && <span class="error"> {error}</span>}
            </td>
          </tr>
        </tbody>
      </table>
      <h3>Feed groups</h3>
      <table class="grid">
        <thead>
          <tr>
            <th>group</th>
            <th>type</th>
            <th>aggregation format</th>
            <th>ranking methods</th>
            <th>max length</th>
            <th>realtime</th>
            <th>public</th>
          </tr>
        </thead>
        <tbody>
          {app.feed_groups.map((g) => (
            <tr key={g.name} data-testid={`group-${g.name}`}>
              <td>
                <strong>{g.name}</strong>
              </td>
              <td>{g.type}</td>
              <td>{g.aggregation_format ? <code>{g.aggregation_format}</code> : <span class="muted">—</span>}</td>
              <td>
                {Object.keys(g.ranking).length === 0 ? (
                  <span class="muted">—</span>
                ) : (
                  Object.entries(g.ranking).map(([name, m]) => (
                    <div key={name}>
                      <Link view="playground" params={{ app: app.app_id, group: g.name, method: name }}>
                        {name}
                      </Link>
                      : <code>{m.score}</code>
                      {Object.keys(m.defaults).length > 0 && <span class="muted"> defaults {JSON.stringify(m.defaults)}</span>}
                      <span class="muted"> window {m.window}</span>
                    </div>
                  ))
                )}
              </td>
              <td>{g.max_length.toLocaleString()}</td>
              <td>{g.realtime ? 'on' : 'off'}</td>
              <td>{g.public ? 'yes' : 'no'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
