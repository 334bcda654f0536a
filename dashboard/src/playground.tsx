import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, show, type Activity, type AppInfo } from './api.js';
import { formatScore, ScoreVars } from './explorer.js';
import { FeedPicker } from './feed-picker.js';
import { navigate } from './nav.js';

const DEFAULT_FORMULA = 'decay_linear(time) * (1 + popularity) ^ 0.5';

interface Preview {
  variables: string[];
  compare: string | null;
  ranked: Activity[];
  current: Activity[];
}

function parseJson(text: string, what: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, `${what} is not valid JSON`);
  }
}

/**
 * Type a ranking formula and see it compiled (or its error, pointed at in the formula) and the
 * chosen feed re-ranked by it as you type, beside the feed's current order (its newest-first order
 * or one of its group's configured methods), with each activity's move and the variables the
 * formula read for it.
 */
export function PlaygroundView({ app, params }: { app: AppInfo; params: URLSearchParams }) {
  const flat = app.feed_groups.filter((g) => g.type === 'flat');
  const paramGroup = params.get('group');
  const feed = params.get('feed') ?? '';
  const group = flat.find((g) => g.name === (feed.split(':')[0] || paramGroup)) ?? flat.find((g) => Object.keys(g.ranking).length > 0) ?? flat[0];
  const method = params.get('method') ?? '';
  const configured = group && method ? group.ranking[method] : undefined;
  const [formula, setFormula] = useState(configured?.score ?? DEFAULT_FORMULA);
  const [defaults, setDefaults] = useState(configured && Object.keys(configured.defaults).length > 0 ? JSON.stringify(configured.defaults) : '');
  const [vars, setVars] = useState('');
  const [compare, setCompare] = useState(method);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [error, setError] = useState<{ message: string; position: number | null } | null>(null);
  const [busy, setBusy] = useState(false);
  const seq = useRef(0);

  useEffect(() => {
    if (configured) {
      setFormula(configured.score);
      setDefaults(Object.keys(configured.defaults).length > 0 ? JSON.stringify(configured.defaults) : '');
      setCompare(method);
    }
  }, [method, group?.name]);

  useEffect(() => {
    if (!feed) return;
    const mine = ++seq.current;
    const t = setTimeout(async () => {
      setBusy(true);
      try {
        const body = {
          feed,
          score: formula,
          defaults: parseJson(defaults, 'defaults'),
          ranking_vars: parseJson(vars, 'rankingVars'),
          compare: compare || undefined,
          limit: 25,
        };
        const r = await api.rankPreview(app.app_id, body);
        if (mine !== seq.current) return;
        setPreview(r);
        setError(null);
      } catch (err) {
        if (mine !== seq.current) return;
        setError(err instanceof ApiError ? { message: err.message, position: err.position } : { message: String(err), position: null });
      } finally {
        if (mine === seq.current) setBusy(false);
      }
    }, 250);
    return () => clearTimeout(t);
  }, [app.app_id, feed, formula, defaults, vars, compare]);

  if (!group) return <p>This app has no flat feed group: ranking applies to flat feeds.</p>;
  const currentIndex = new Map((preview?.current ?? []).map((a, i) => [a.id, i]));
  return (
    <div>
      <h1>Ranking playground</h1>
      <FeedPicker app={app} feed={feed} flatOnly label="Rank" onPick={(f) => navigate('playground', { app: app.app_id, feed: f, method: method || undefined })} />
      <div class="playground-form">
        <label class="formula-input">
          Formula
          <textarea aria-label="formula" data-testid="formula" class="mono" rows={2} spellcheck={false} value={formula} onInput={(e) => setFormula((e.target as HTMLTextAreaElement).value)} />
        </label>
        <div class="row">
          <label>
            defaults <input aria-label="defaults" class="mono" size={24} placeholder='{"popularity": 1}' value={defaults} onInput={(e) => setDefaults((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            rankingVars <input aria-label="rankingVars" class="mono" size={24} placeholder='{"boost": 2}' value={vars} onInput={(e) => setVars((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            compare with{' '}
            <select aria-label="compare with" value={compare} onChange={(e) => setCompare((e.target as HTMLSelectElement).value)}>
              <option value="">feed order (newest first)</option>
              {Object.keys(group.ranking).map((m) => (
                <option key={m} value={m}>
                  method {m}
                </option>
              ))}
            </select>
          </label>
        </div>
        {error ? (
          <div class="compile error" role="alert" data-testid="compile-error">
            {error.position !== null && (
              <pre class="caret">
                {formula}
                {'\n'}
                {' '.repeat(Math.max(0, error.position))}^
              </pre>
            )}
            <span>{error.message}</span>
          </div>
        ) : (
          preview && (
            <div class="compile ok" data-testid="compile-ok">
              compiled{busy ? '…' : ''}: reads {preview.variables.length > 0 ? preview.variables.join(', ') : 'no variables'}
            </div>
          )
        )}
      </div>
      {!feed && <p class="muted">Pick a feed to rank.</p>}
      {preview && (
        <div class="side-by-side">
          <Column title={preview.compare ? `Current: method ${preview.compare}` : 'Current: feed order'} testId="current-order" activities={preview.current} scored={!!preview.compare} />
          <Column title="New formula" testId="new-order" activities={preview.ranked} scored moves={currentIndex} />
        </div>
      )}
    </div>
  );
}

function Column(props: { title: string; testId: string; activities: Activity[]; scored: boolean; moves?: Map<string, number> }) {
  return (
    <div class="column">
      <h3>{props.title}</h3>
      <ol data-testid={props.testId}>
        {props.activities.map((a, i) => {
          const was = props.moves?.get(a.id);
          const move = props.moves === undefined ? null : was === undefined ? 'new' : was === i ? '=' : was > i ? `▲${was - i}` : `▼${i - was}`;
          return (
            <li key={a.id} data-activity-id={a.id}>
              {move !== null && <span class={`move ${move.startsWith('▲') ? 'up' : move.startsWith('▼') ? 'down' : ''}`}>{move}</span>}
              {props.scored && <span class="score">{formatScore(a.score)}</span>}
              <span class="what">
                <strong>{show(a.actor)}</strong> {a.verb} {typeof a.text === 'string' ? a.text : show(a.object)}
              </span>
              {props.scored && <ScoreVars vars={a.score_vars} />}
            </li>
          );
        })}
      </ol>
    </div>
  );
}
