import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably } from '../config/durable-file.js';
import { createSigner } from 'fast-jwt';
import { ConfigError, DEFAULT_GROUPS, ensureDataDirConfig, parseConfig, type Config } from '../config/config.js';
import type { App } from '../core/feeds/feed-group.js';

/**
 * `rivulet apps` and `rivulet token`: the apps of a config file (the data directory's `app.json`
 * unless `--config` names another), their credentials, and user tokens. Changes are validated as a
 * whole config before the file is replaced (written beside it, then renamed, mode 0600), so a
 * failed change leaves the file as it was. A running server reads its config at start: restart it
 * to use an added app or a new secret.
 */

/** A command used wrongly (an unknown app, a bad user id): exit status 2 with the message. */
export class UsageError extends Error {}

interface RawConfig {
  apps: { app_id: string; api_key: string; api_secret: string; feed_groups: unknown[] }[];
  [key: string]: unknown;
}

/** The config file `rivulet apps` works on. */
export function configPath(dataDir: string, configFile?: string): string {
  return configFile ?? join(dataDir, 'app.json');
}

function readRaw(file: string): RawConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as RawConfig;
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Validates `raw` as a config, then replaces `file` with it. */
function writeRaw(file: string, raw: RawConfig, dataDir: string): Config {
  const config = parseConfig(raw, dataDir);
  writeFileDurably(file, JSON.stringify(raw, null, 2) + '\n');
  return config;
}

function newKey(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let key = '';
  for (let i = 0; i < 12; i++) key += alphabet[randomInt(alphabet.length)];
  return key;
}

const newSecret = () => randomBytes(32).toString('base64url');

function describe(app: App, showSecret: boolean): string[] {
  return [
    `app ${app.appId}`,
    `  api_key:     ${app.apiKey}`,
    `  api_secret:  ${showSecret ? app.apiSecret : '(hidden; --show-secrets prints it)'}`,
    `  feed groups: ${[...app.groups.values()].map((g) => `${g.name} (${g.type})`).join(', ')}`,
  ];
}

/** `rivulet apps list`. */
export function listApps(dataDir: string, configFile: string | undefined, showSecrets: boolean): string {
  const file = configPath(dataDir, configFile);
  if (!existsSync(file)) throw new UsageError(`no config file at ${file}: \`rivulet init\` creates one`);
  const config = parseConfig(readRaw(file), dataDir);
  return [`Apps in ${file}:`, ...config.apps.flatMap((a) => describe(a, showSecrets))].join('\n') + '\n';
}

/** `rivulet apps add`: a new app with a random key and secret and the default feed groups. */
export function addApp(dataDir: string, configFile: string | undefined, opts: { appId?: string }): { text: string; app: App } {
  const file = configPath(dataDir, configFile);
  if (!existsSync(file) && configFile === undefined) {
    // A data directory without a config: its first app is the one added.
    const { config } = ensureDataDirConfig(dataDir);
    const app = config.apps[0];
    return { text: [`Created ${file} with a new app:`, ...describe(app, true)].join('\n') + '\n', app };
  }
  const raw = readRaw(file);
  const ids = new Set(raw.apps.map((a) => a.app_id));
  let appId = opts.appId;
  if (appId === undefined) do appId = String(randomInt(100_000, 999_999)); while (ids.has(appId));
  raw.apps.push({ app_id: appId, api_key: newKey(), api_secret: newSecret(), feed_groups: DEFAULT_GROUPS });
  const config = writeRaw(file, raw, dataDir);
  const app = config.apps.find((a) => a.appId === appId)!;
  return { text: [`Added to ${file} (restart running servers to serve it):`, ...describe(app, true)].join('\n') + '\n', app };
}

/** `rivulet apps rotate-secret APP_ID`: a new secret; tokens signed with the old one stop working. */
export function rotateSecret(dataDir: string, configFile: string | undefined, appId: string): { text: string; secret: string } {
  const file = configPath(dataDir, configFile);
  const raw = readRaw(file);
  const entry = raw.apps.find((a) => a.app_id === appId);
  if (!entry) throw new UsageError(`no app ${appId} in ${file} (apps: ${raw.apps.map((a) => a.app_id).join(', ')})`);
  entry.api_secret = newSecret();
  writeRaw(file, raw, dataDir);
  return {
    text:
      [
        `New secret of app ${appId} written to ${file}.`,
        `  api_secret: ${entry.api_secret}`,
        'Restart running servers: until then they accept only the old secret; afterwards tokens signed with the old one are refused.',
      ].join('\n') + '\n',
    secret: entry.api_secret,
  };
}

const USER_ID = /^[\w-]{1,255}$/;

/**
 * `rivulet token --user ID`: a user token of an app (HS256, `user_id`), as an app's backend makes
 * them for its clients; with `expiresIn` (seconds) it carries `exp`.
 */
export function userToken(config: Config, opts: { user: string; app?: string; expiresIn?: number }): string {
  if (!USER_ID.test(opts.user)) throw new UsageError(`--user: "${opts.user.slice(0, 64)}" is not a user id (1-255 letters, digits, _ or -)`);
  let app: App | undefined;
  if (opts.app !== undefined) {
    app = config.apps.find((a) => a.appId === opts.app);
    if (!app) throw new UsageError(`--app: no app ${opts.app} (apps: ${config.apps.map((a) => a.appId).join(', ')})`);
  } else if (config.apps.length === 1) {
    app = config.apps[0];
  } else {
    throw new UsageError(`--app: the config has ${config.apps.length} apps, name one (${config.apps.map((a) => a.appId).join(', ')})`);
  }
  if (opts.expiresIn !== undefined && (!Number.isInteger(opts.expiresIn) || opts.expiresIn <= 0)) {
    throw new UsageError('--expires-in: a whole number of seconds above 0');
  }
  // No `iat`, as Stream's own user tokens: the same user gets the same token (servers cache verified tokens).
  const sign = createSigner({ key: app.apiSecret, algorithm: 'HS256', noTimestamp: opts.expiresIn === undefined, ...(opts.expiresIn !== undefined ? { expiresIn: opts.expiresIn * 1000 } : {}) });
  return sign({ user_id: opts.user }) as string;
}
