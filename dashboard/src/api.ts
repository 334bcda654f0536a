// The dashboard's calls to its server: JSON over fetch, with the session cookie (HttpOnly, set by
// the server) and, on calls that change something, the session's CSRF token in a header.

export interface FeedGroupInfo {
  name: string;
  type: 'flat' | 'aggregated' | 'notification';
  aggregation_format: string | null;
  ranking: Record<string, { score: string; defaults: Record<string, number>; window: number; variables: string[] }>;
  max_length: number;
  realtime: boolean;
  public: boolean;
}

export interface AppInfo {
  app_id: string;
  api_key: string;
  feed_groups: FeedGroupInfo[];
}

export interface SessionInfo {
  kind: 'app' | 'operator';
  expires: string;
  csrf: string;
  apps: AppInfo[];
  operator_sign_in: boolean;
}

/** An activity as the API returns it (stored form plus what the read adds). */
export interface Activity {
  id: string;
  actor: unknown;
  verb: string;
  object: unknown;
  target?: unknown;
  time: string;
  foreign_id?: string;
  origin?: string | null;
  to?: string[];
  score?: number | null;
  score_vars?: Record<string, number>;
  reaction_counts?: Record<string, number>;
  [key: string]: unknown;
}

export interface ActivityGroup {
  id: string;
  group: string;
  verb: string;
  activity_count: number;
  actor_count: number;
  is_seen?: boolean;
  is_read?: boolean;
  updated_at: string;
  activities: Activity[];
}

export interface FeedPage {
  results: (Activity | ActivityGroup)[];
  next: string;
  unseen?: number;
  unread?: number;
}

export interface MetricsSample {
  at: number;
  requestsPerSecond: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  errorsPerSecond: number;
  fanoutLagP99Ms: number | null;
  queueDepth: number | null;
  cacheHitRate: number | null;
  eventLoopDelayP99Ms: number | null;
  realtimeClients: number | null;
}

/** An error answer: Stream's error body, with `position` for formulas that do not compile. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly position: number | null = null,
  ) {
    super(message);
  }
}

let csrf = '';

/** Remembers the session's CSRF token for the calls that change something. */
export function setCsrf(token: string): void {
  csrf = token;
}

async function call<T>(method: string, path: string, body?: unknown, csrfToken = csrf): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-rivulet-csrf'] = csrfToken;
  const res = await fetch(`/dashboard/api/${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  if (!res.ok) throw new ApiError(res.status, json?.detail ?? text ?? res.statusText, typeof json?.position === 'number' ? json.position : null);
  return json as T;
}

const q = (params: Record<string, string | number | boolean | undefined>) => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
};

const e = encodeURIComponent;

export const api = {
  session: () => call<SessionInfo>('GET', 'session'),
  signIn: (creds: { api_key: string; api_secret: string } | { operator_token: string }) => call<SessionInfo>('POST', 'session', creds, 'sign-in'),
  signOut: () => call<unknown>('DELETE', 'session'),
  revealSecret: (app: string) => call<{ api_secret: string }>('POST', `apps/${e(app)}/secret`, {}),
  overview: () => call<{ ready: boolean; checks: Record<string, { ok: boolean; detail?: string }>; metrics_url: string | null; uptime_s: number; node: string }>('GET', 'overview'),
  history: () => call<{ intervalSeconds: number; samples: MetricsSample[] }>('GET', 'metrics/history'),
  feed: (app: string, feed: string, params: Record<string, string | number | boolean | undefined>) => {
    const [slug, uid] = splitFeed(feed);
    return call<FeedPage>('GET', `apps/${e(app)}/feed/${e(slug)}/${e(uid)}${q(params)}`);
  },
  activities: (app: string, ids: string[]) => call<{ results: Activity[] }>('GET', `apps/${e(app)}/activities${q({ ids: ids.join(',') })}`),
  reactions: (app: string, activity: string) =>
    call<{ results: { id: string; kind: string; user_id: string; data: Record<string, unknown>; created_at: string }[] }>('GET', `apps/${e(app)}/reactions/${e(activity)}${q({ limit: 25 })}`),
  follows: (app: string, feed: string, direction: 'followers' | 'following') => {
    const [slug, uid] = splitFeed(feed);
    return call<{ results: { feed_id: string; target_id: string; created_at: string }[] }>('GET', `apps/${e(app)}/follows/${e(slug)}/${e(uid)}/${direction}${q({ limit: 25 })}`);
  },
  rankPreview: (app: string, body: { feed: string; score: string; defaults?: unknown; ranking_vars?: unknown; compare?: string; limit?: number }) =>
    call<{ feed: string; variables: string[]; compare: string | null; ranked: Activity[]; current: Activity[] }>('POST', `apps/${e(app)}/rank-preview`, body),
  tailUrl: (app: string, feed: string) => {
    const [slug, uid] = splitFeed(feed);
    return `/dashboard/api/apps/${e(app)}/tail/${e(slug)}/${e(uid)}`;
  },
};

/** `group:user` → [group, user]; throws on anything else. */
export function splitFeed(feed: string): [string, string] {
  const i = feed.indexOf(':');
  if (i <= 0 || i === feed.length - 1) throw new ApiError(400, `"${feed}" is not a feed id (group:user)`);
  return [feed.slice(0, i), feed.slice(i + 1)];
}

/** A short text for a field that may be a reference, an enriched object or anything else. */
export function show(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.id === 'string') return (o.collection ? `${o.collection}:` : '') + o.id;
    return JSON.stringify(v);
  }
  return String(v);
}

/** The user feed an actor reference points at (`SU:alice` or an enriched user → `user:alice`). */
export function actorFeed(actor: unknown): string | null {
  if (typeof actor === 'string') {
    const m = /^SU:(.+)$/.exec(actor);
    return m ? `user:${m[1]}` : null;
  }
  if (actor && typeof actor === 'object' && typeof (actor as { id?: unknown }).id === 'string' && (actor as { data?: unknown }).data !== undefined) {
    return `user:${(actor as { id: string }).id}`;
  }
  return null;
}
