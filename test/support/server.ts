import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { connect, type StreamClient } from 'getstream';
import { parseConfig, type ConfigFile } from '../../src/config/config.js';
import { createRivulet, type Rivulet } from '../../src/main.js';
import type { Clock } from '../../src/ports/clock.js';
import type { Store } from '../../src/ports/store.js';
import type { ReadinessCheck } from '../../src/services/readiness.js';
import { openTestStore } from './store.js';

/** The feed groups the official client's integration suites expect (stream-v2-api.md §20.1). */
export const TEST_GROUPS: ConfigFile['apps'][number]['feed_groups'] = [
  { name: 'user', type: 'flat' },
  { name: 'timeline', type: 'flat' },
  { name: 'flat', type: 'flat' },
  { name: 'secret', type: 'flat' },
  { name: 'aggregated', type: 'aggregated' },
  { name: 'notification', type: 'notification' },
  { name: 'short', type: 'flat', max_length: 5 },
];

export interface TestServer {
  readonly rivulet: Rivulet;
  readonly baseUrl: string;
  readonly appId: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly dataDir: string;
  /** A server-side client (holds the secret). */
  client(): StreamClient;
  /** A client-side client acting as `userId` with a user token. */
  userClient(userId: string): StreamClient;
  close(): Promise<void>;
}

/**
 * Starts Rivulet in this process on a free loopback port, with its own temp database and a fresh
 * app (random id, key, secret). `fanout` overrides the fan-out settings.
 */
export async function startServer(
  opts: {
    fanout?: { inline_max_followers?: number; chunk_size?: number; pull_min_followers?: number };
    groups?: typeof TEST_GROUPS;
    worker?: boolean | 'manual';
    clock?: Clock;
    /** Runs the server on this wrapper of its SQLite store (e.g. a proxy counting store calls). */
    wrapStore?: (store: Store) => Store;
    /** The app's `personalization` settings. */
    personalization?: ConfigFile['apps'][number]['personalization'];
    /** More config file sections (`files`, `og`, `moderation`, …). */
    config?: Omit<Partial<ConfigFile>, 'apps' | 'fanout'>;
    /** Use this data directory (kept on close) instead of a fresh temp one. */
    dataDir?: string;
    /** The app's credentials (a restarted server reuses them). */
    app?: { appId: string; apiKey: string; apiSecret: string };
    /** More keys of the app's config (`rate_limits`). */
    appConfig?: Record<string, unknown>;
    /** Log lines go here (parsed JSON objects) instead of nowhere. */
    logs?: Record<string, unknown>[];
    /** Extra readiness checks. */
    readinessChecks?: readonly ReadinessCheck[];
  } = {},
): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'rivulet-test-'));
  const appId = opts.app?.appId ?? String(100000 + Math.floor(Math.random() * 800000));
  const apiKey = opts.app?.apiKey ?? 'k' + randomUUID().replace(/-/g, '').slice(0, 15);
  const apiSecret = opts.app?.apiSecret ?? randomBytes(24).toString('base64url');
  const config = parseConfig(
    {
      ...opts.config,
      apps: [{ app_id: appId, api_key: apiKey, api_secret: apiSecret, feed_groups: opts.groups ?? TEST_GROUPS, personalization: opts.personalization, ...opts.appConfig }],
      fanout: opts.fanout,
    },
    dataDir,
  );
  const logs = opts.logs;
  const rivulet = await createRivulet({
    config,
    logger: logs
      ? pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) })
      : pino({ level: process.env.TEST_LOG ?? 'silent' }),
    worker: opts.worker,
    clock: opts.clock,
    store: (opts.wrapStore ?? ((store: Store) => store))(await openTestStore(config)),
    readinessChecks: opts.readinessChecks,
  });
  const address = await rivulet.listen(0, '127.0.0.1');
  // Readiness waits for the integrity check at start; tests start from a ready server.
  await rivulet.integrityChecked();
  const baseUrl = `${address}/api/`;
  return {
    rivulet,
    baseUrl,
    appId,
    apiKey,
    apiSecret,
    dataDir,
    client: () => connect(apiKey, apiSecret, appId, { urlOverride: { api: baseUrl, personalization: `${address}/personalization/` } }),
    userClient: (userId: string) => {
      const server = connect(apiKey, apiSecret, appId, { urlOverride: { api: baseUrl } });
      const token = server.createUserToken(userId);
      return connect(apiKey, token, appId, { urlOverride: { api: baseUrl } });
    },
    async close() {
      await rivulet.close();
      if (opts.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A unique feed user id for one test. */
export function uid(prefix = 'u'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Calls the API directly (for requests the client cannot make, such as malformed bodies). */
export async function rawRequest(
  t: TestServer,
  method: string,
  path: string,
  opts: { body?: string | object; token?: string | null; query?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; text: string }> {
  const url = new URL(`${t.baseUrl}v1.0/${path}`);
  url.searchParams.set('api_key', t.apiKey);
  for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
  const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
  const token = opts.token === undefined ? t.client().getOrCreateToken() : opts.token;
  if (token !== null) headers.authorization = token;
  const res = await fetch(url, {
    method,
    headers,
    body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
  });
  return readResponse(res);
}

/** A fetch response as the tests look at it: status, text, and the JSON body (null when not JSON). */
export async function readResponse(res: Response): Promise<{ status: number; body: any; text: string }> {
  const text = await res.text();
  let body: any = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  return { status: res.status, body, text };
}
