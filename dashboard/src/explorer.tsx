import { useEffect, useState } from 'preact/hooks';
import { actorFeed, api, ApiError, show, type Activity, type ActivityGroup, type AppInfo, type FeedPage } from './api.js';
import { FeedPicker } from './feed-picker.js';
import { Link, navigate } from './nav.js';

/** `time` (seconds since the epoch) as an age: "7.5 h ago". */
function age(seconds: number): string {
  const d = Date.now() / 1000 - seconds;
  if (Math.abs(d) < 3600) return `${Math.round(d / 60)} min ago`;
  if (Math.abs(d) < 172_800) return `${(d / 3600).toFixed(1)} h ago`;
  return `${(d / 86_400).toFixed(1)} d ago`;
}

/** Formats score_vars as `name=value` chips: what the formula read for this activity. */
export function ScoreVars({ vars }: { vars?: Record<string, number> }) {
  if (!vars) return null;
  return (
    <span class="vars">
      {Object.entries(vars).map(([k, v]) => (
        <span key={k} class="chip" title={`${k} = ${v}`}>
          {k}={k === 'time' ? age(v) : Number.isInteger(v) ? v : v.toPrecision(4)}
        </span>
      ))}
    </span>
  );
}

export function formatScore(s: number | null | undefined): string {
  if (s === null || s === undefined) return '—';
  return Math.abs(s) >= 1000 || Number.isInteger(s) ? String(s) : s.toPrecision(5);
}

/** A feed id that opens that feed in the explorer. */
export function FeedLink({ app, feed }: { app: string; feed: string }) {
  return (
    <Link view="explore" params={{ app, feed }} testId={`feed-link-${feed}`}>
      {feed}
    </Link>
  );
}

/**
 * Reads any feed as the API serves it: flat in feed order or ranked by one of its group's methods
 * (with rankingVars, scores and score_vars), aggregated and notification feeds as groups; shows
 * who follows the feed and whom it follows; opens an activity with its reactions and its feeds.
 */
export function ExplorerView({ app, params }: { app: AppInfo; params: URLSearchParams }) {
  const feed = params.get('feed') ?? '';
  const ranking = params.get('ranking') ?? '';
  const vars = params.get('vars') ?? '';
  const enrich = params.get('enrich') === '1';
  const selected = params.get('activity');
  const [page, setPage] = useState<FeedPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [varsText, setVarsText] = useState(vars);
  const group = app.feed_groups.find((g) => g.name === feed.split(':')[0]);

  const go = (p: Record<string, string | undefined>) =>
    navigate('explore', { app: app.app_id, feed, ranking: ranking || undefined, vars: vars || undefined, enrich: enrich ? '1' : undefined, ...p });

  useEffect(() => {
    setVarsText(vars);
    if (!feed) return;
    setLoading(true);
    setError(null);
    api
      .feed(app.app_id, feed, {
        limit: 25,
        enrich: enrich ? 'true' : undefined,
        ranking: ranking || undefined,
        ranking_vars: ranking && vars ? vars : undefined,
        withScoreVars: ranking ? 'true' : undefined,
        withReactionCounts: 'true',
      })
      .then(setPage, (err: unknown) => {
        setPage(null);
        setError(err instanceof ApiError ? err.message : String(err));
      })
      .finally(() => setLoading(false));
  }, [app.app_id, feed, ranking, vars, enrich]);

  const method = ranking && group ? group.ranking[ranking] : undefined;
  return (
    <div>
      <h1>Feed explorer</h1>
      <FeedPicker app={app} feed={feed} onPick={(f) => navigate('explore', { app: app.app_id, feed: f })} />
      {group && (
        <div class="toolbar">
          {group.type === 'flat' && (
            <label>
              Order{' '}
              <select aria-label="ranking" value={ranking} onChange={(e) => go({ ranking: (e.target as HTMLSelectElement).value || undefined })}>
                <option value="">feed order (newest first)</option>
                {Object.keys(group.ranking).map((m) => (
                  <option key={m} value={m}>
                    ranked: {m}
                  </option>
                ))}
              </select>
            </label>
          )}
          {ranking && (
            <form
              class="inline"
              onSubmit={(e) => {
                e.preventDefault();
                go({ vars: varsText.trim() || undefined });
              }}
            >
              <label>
                rankingVars <input aria-label="rankingVars" class="mono" size={28} placeholder='{"boost": 2}' value={varsText} onInput={(e) => setVarsText((e.target as HTMLInputElement).value)} />
              </label>
              <button type="submit">Apply</button>
            </form>
          )}
          <label>
            <input type="checkbox" checked={enrich} onChange={(e) => go({ enrich: (e.target as HTMLInputElement).checked ? '1' : undefined })} /> enrich
          </label>
          {group.type === 'flat' && (
            <Link view="playground" params={{ app: app.app_id, feed, method: ranking || undefined }}>
              Open in the ranking playground →
            </Link>
          )}
          <Link view="tail" params={{ app: app.app_id, feed }}>
            Tail this feed live →
          </Link>
        </div>
      )}
      {method && (
        <p class="formula">
          <strong>{ranking}</strong> = <code>{method.score}</code>
          {Object.keys(method.defaults).length > 0 && <span class="muted"> · defaults {JSON.stringify(method.defaults)}</span>}
          <span class="muted"> · the newest {method.window} entries are scored; score_vars show what the formula read</span>
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {feed && group && (
        <div class="explorer">
          <div class="results">
            {loading && <p class="muted">Reading…</p>}
            {page && group.type === 'flat' && <ActivityTable app={app.app_id} activities={page.results as Activity[]} ranked={!!ranking} selected={selected} onSelect={(id) => go({ activity: id })} />}
            {page && group.type !== 'flat' && <Groups app={app.app_id} page={page} onSelect={(id) => go({ activity: id })} />}
            {page && page.results.length === 0 && <p class="muted">This feed is empty.</p>}
          </div>
          <aside class="side">
            {selected ? <ActivityDetail app={app.app_id} id={selected} onClose={() => go({ activity: undefined })} /> : <Follows app={app.app_id} feed={feed} />}
          </aside>
        </div>
      )}
    </div>
  );
}

function ActivityTable(props: { app: string; activities: Activity[]; ranked: boolean; selected: string | null; onSelect: (id: string) => void }) {
  return (
    <table class="grid activities" data-testid="activities">
      <thead>
        <tr>
          <th>#</th>
          {props.ranked && <th>score</th>}
          <th>actor</th>
          <th>verb</th>
          <th>object</th>
          <th>time</th>
          <th>origin</th>
          <th>reactions</th>
        </tr>
      </thead>
      <tbody>
        {props.activities.map((a, i) => {
          const af = actorFeed(a.actor);
          return (
            <tr key={a.id} class={props.selected === a.id ? 'selected' : ''} data-activity-id={a.id} onClick={() => props.onSelect(a.id)}>
              <td>{i + 1}</td>
              {props.ranked && (
                <td class="score">
                  <strong>{formatScore(a.score)}</strong>
                  <ScoreVars vars={a.score_vars} />
                </td>
              )}
              <td>{af ? <FeedLink app={props.app} feed={af} /> : show(a.actor)}</td>
              <td>{a.verb}</td>
              <td class="object">{typeof a.text === 'string' ? a.text : show(a.object)}</td>
              <td class="nowrap">{a.time.replace('T', ' ').slice(0, 19)}</td>
              <td>{a.origin ? <FeedLink app={props.app} feed={a.origin} /> : <span class="muted">own</span>}</td>
              <td class="nowrap">
                {Object.entries(a.reaction_counts ?? {})
                  .map(([k, v]) => `${v} ${k}`)
                  .join(', ')}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function Groups({ app, page, onSelect }: { app: string; page: FeedPage; onSelect: (id: string) => void }) {
  return (
    <div>
      {page.unseen !== undefined && (
        <p class="muted">
          {page.unseen} unseen, {page.unread} unread
        </p>
      )}
      {(page.results as ActivityGroup[]).map((g) => (
        <div key={g.id} class="group card">
          <div>
            <strong>{g.verb}</strong> · {g.activity_count} activities by {g.actor_count} actors · <code>{g.group}</code>
            {g.is_seen === false && <span class="chip">unseen</span>}
            {g.is_read === false && <span class="chip">unread</span>}
          </div>
          <ActivityTable app={app} activities={g.activities} ranked={false} selected={null} onSelect={onSelect} />
        </div>
      ))}
    </div>
  );
}

function Follows({ app, feed }: { app: string; feed: string }) {
  const [followers, setFollowers] = useState<string[] | null>(null);
  const [following, setFollowing] = useState<string[] | null>(null);
  useEffect(() => {
    setFollowers(null);
    setFollowing(null);
    api.follows(app, feed, 'followers').then((r) => setFollowers(r.results.map((f) => f.feed_id)), () => setFollowers([]));
    api.follows(app, feed, 'following').then((r) => setFollowing(r.results.map((f) => f.target_id)), () => setFollowing([]));
  }, [app, feed]);
  const list = (xs: string[] | null, testId: string) =>
    xs === null ? (
      <p class="muted">…</p>
    ) : xs.length === 0 ? (
      <p class="muted">none</p>
    ) : (
      <ul data-testid={testId}>
        {xs.map((f) => (
          <li key={f}>
            <FeedLink app={app} feed={f} />
          </li>
        ))}
      </ul>
    );
  return (
    <div class="card">
      <h3>{feed} follows</h3>
      {list(following, 'following')}
      <h3>Followers of {feed}</h3>
      {list(followers, 'followers')}
      <p class="muted">Click an activity for its details and reactions.</p>
    </div>
  );
}

function ActivityDetail({ app, id, onClose }: { app: string; id: string; onClose: () => void }) {
  const [activity, setActivity] = useState<Activity | null | undefined>(undefined);
  const [reactions, setReactions] = useState<{ id: string; kind: string; user_id: string; data: Record<string, unknown>; created_at: string }[] | null>(null);
  useEffect(() => {
    setActivity(undefined);
    setReactions(null);
    api.activities(app, [id]).then((r) => setActivity(r.results[0] ?? null), () => setActivity(null));
    api.reactions(app, id).then((r) => setReactions(r.results), () => setReactions([]));
  }, [app, id]);
  if (activity === undefined) return <div class="card">Loading…</div>;
  if (activity === null) return <div class="card">Activity {id} was not found.</div>;
  const af = actorFeed(activity.actor);
  return (
    <div class="card detail" data-testid="activity-detail">
      <button type="button" class="close" onClick={onClose} aria-label="close">
        ×
      </button>
      <h3>Activity</h3>
      <p>
        <code>{activity.id}</code>
      </p>
      <ul class="links">
        {af && (
          <li>
            actor's feed: <FeedLink app={app} feed={af} />
          </li>
        )}
        {(activity.to ?? []).map((t) => (
          <li key={t}>
            to: <FeedLink app={app} feed={t} />
          </li>
        ))}
      </ul>
      <h3>Reactions</h3>
      {reactions === null ? (
        <p class="muted">…</p>
      ) : reactions.length === 0 ? (
        <p class="muted">none</p>
      ) : (
        <ul data-testid="reactions">
          {reactions.map((r) => (
            <li key={r.id}>
              <strong>{r.kind}</strong> by <FeedLink app={app} feed={`user:${r.user_id}`} />
              {typeof r.data.text === 'string' && <span>: “{r.data.text}”</span>}
            </li>
          ))}
        </ul>
      )}
      <h3>Stored activity</h3>
      <pre>{JSON.stringify(activity, null, 2)}</pre>
    </div>
  );
}
