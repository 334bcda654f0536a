import { useEffect, useState } from 'preact/hooks';
import { api, show, type AppInfo } from './api.js';
import { FeedPicker } from './feed-picker.js';
import { FeedLink } from './explorer.js';
import { navigate } from './nav.js';

interface Change {
  n: number;
  at: string;
  new: { id: string; actor: unknown; verb: string; object: unknown; text?: unknown; origin?: string | null }[];
  deleted: string[];
  mark_seen?: unknown;
  mark_read?: unknown;
}

/** Every change to one feed as it happens: the realtime messages its subscribers receive. */
export function TailView({ app, params }: { app: AppInfo; params: URLSearchParams }) {
  const feed = params.get('feed') ?? '';
  const [state, setState] = useState<'idle' | 'connecting' | 'live' | 'closed'>('idle');
  const [changes, setChanges] = useState<Change[]>([]);

  useEffect(() => {
    setChanges([]);
    if (!feed) return;
    setState('connecting');
    const source = new EventSource(api.tailUrl(app.app_id, feed));
    let n = 0;
    source.addEventListener('ready', () => setState('live'));
    source.addEventListener('change', (e) => {
      const m = JSON.parse((e as MessageEvent).data as string);
      n++;
      const change: Change = { n, at: m.published_at, new: m.new ?? [], deleted: m.deleted ?? [], mark_seen: m.mark_seen, mark_read: m.mark_read };
      setChanges((cs) => [change, ...cs].slice(0, 200));
    });
    source.onerror = () => setState(source.readyState === EventSource.CLOSED ? 'closed' : 'connecting');
    return () => source.close();
  }, [app.app_id, feed]);

  return (
    <div>
      <h1>Realtime tail</h1>
      <FeedPicker app={app} feed={feed} label="Tail" onPick={(f) => navigate('tail', { app: app.app_id, feed: f })} />
      {feed && (
        <p>
          <span class={`dot ${state}`} /> <span data-testid="tail-state">{state}</span> · {feed} · {changes.length} changes
        </p>
      )}
      <ol class="tail" data-testid="tail">
        {changes.map((c) => (
          <li key={c.n} class="card">
            <div class="muted">{c.at}</div>
            {c.new.map((a) => (
              <div key={a.id} class="added">
                + <strong>{show(a.actor)}</strong> {a.verb} {typeof a.text === 'string' ? a.text : show(a.object)}{' '}
                {a.origin && (
                  <span class="muted">
                    via <FeedLink app={app.app_id} feed={a.origin} />
                  </span>
                )}
              </div>
            ))}
            {c.deleted.map((id) => (
              <div key={id} class="removed">
                − {id}
              </div>
            ))}
            {c.mark_seen !== undefined && <div class="muted">marked seen: {JSON.stringify(c.mark_seen)}</div>}
            {c.mark_read !== undefined && <div class="muted">marked read: {JSON.stringify(c.mark_read)}</div>}
          </li>
        ))}
      </ol>
    </div>
  );
}
