import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFileDurably } from './durable-file.js';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_MAX_GROUP_ACTIVITIES, DEFAULT_MAX_GROUPS, DEFAULT_MAX_LENGTH, type App, type FeedGroup } from '../core/feeds/feed-group.js';
import { DEFAULT_FANOUT } from '../services/context.js';
import { DEFAULT_MAX_UPLOAD_BYTES } from '../services/files.js';
import { DEFAULT_OG, type OgSettings } from '../services/open-graph.js';
import { AddressPolicy } from '../core/net/address-policy.js';
import { AggregationFormatError, compileAggregationFormat, DEFAULT_AGGREGATION_FORMAT } from '../core/aggregation/compile.js';
import { compileRankingMethod, RankingConfigError, type RankingMethod } from '../core/ranking/compile.js';
import { isPlainObject } from '../core/activities/activity.js';
import type { SignalSettings } from '../personalization/signals/settings.js';
import { checkPersonalizedScore, compilePersonalizedMethod, personalizationSchema, personalizedSettings, signalSettings } from './personalization-config.js';
import type { PersonalizedSettings } from '../personalization/serving/settings.js';

/**
 * Configuration: parsed and validated once at start. A bad file is reported with the path of the
 * offending field (`apps[0].feed_groups[1].type: …`) and the process exits non-zero.
 */

const groupSchema = z.strictObject({
  name: z.string().regex(/^\w{1,64}$/, 'must be 1-64 letters, digits or _'),
  type: z.enum(['flat', 'aggregated', 'notification']),
  aggregation_format: z.string().min(1).max(1000).optional(),
  ranking: z.record(z.string(), z.unknown()).optional(),
  max_length: z.int().min(1).max(1_000_000).optional(),
  max_groups: z.int().min(1).max(100_000).optional(),
  max_group_activities: z.int().min(1).max(10_000).optional(),
  realtime: z.boolean().optional(),
  public: z.boolean().optional(),
  followable: z.boolean().optional(),
});

const rateLimitsSchema = z.strictObject({
  window_seconds: z.int().min(1).max(86_400).optional(),
  default: z.int().min(1).max(100_000_000).optional(),
  endpoints: z.record(z.string().regex(/^(GET|POST|PUT|DELETE) \S+$/, 'must be "<METHOD> <route>", e.g. "GET feed/:slug/:uid/"'), z.int().min(1).max(100_000_000)).optional(),
});

const appSchema = z.strictObject({
  app_id: z.string().regex(/^[\w-]{1,64}$/, 'must be 1-64 letters, digits, _ or -'),
  api_key: z.string().regex(/^[\w-]{4,128}$/, 'must be 4-128 letters, digits, _ or -'),
  api_secret: z.string().min(16, 'must be at least 16 characters').max(512),
  feed_groups: z.array(groupSchema).min(1),
  rate_limits: rateLimitsSchema.optional(),
  personalization: personalizationSchema.optional(),
});

const fileSchema = z.strictObject({
  apps: z.array(appSchema).min(1),
  storage: z
    .discriminatedUnion('backend', [
      z.strictObject({
        backend: z.literal('sqlite'),
        path: z.string().min(1).optional(),
        activity_retention_s: z.int().min(0).max(10 * 365 * 86_400).optional(),
        activity_sweep_interval_s: z.int().min(1).max(7 * 86_400).optional(),
      }),
      z.strictObject({
        backend: z.literal('redis'),
        nodes: z.array(z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[\w.-]+):\d{1,5}$/, 'must be host:port')).min(1).max(1000),
        durability: z.enum(['durable', 'fast']).optional(),
        key_prefix: z.string().regex(/^[^{}\s]{0,64}$/, 'must be at most 64 characters without braces or spaces').optional(),
        activity_retention_s: z.int().min(0).max(10 * 365 * 86_400).optional(),
        activity_sweep_interval_s: z.int().min(1).max(7 * 86_400).optional(),
      }),
    ])
    .optional(),
  fanout: z
    .strictObject({
      inline_max_followers: z.int().min(0).max(1_000_000).optional(),
      chunk_size: z.int().min(1).max(100_000).optional(),
      pull_min_followers: z.int().min(1).max(1_000_000_000).optional(),
      lease_s: z.int().min(1).max(86_400).optional(),
      poll_ms: z.int().min(10).max(3_600_000).optional(),
    })
    .optional(),
  read_cache: z
    .strictObject({
      max_mb: z.int().min(0).max(65_536).optional(),
      parts_mb: z.int().min(0).max(65_536).optional(),
    })
    .optional(),
  limits: z
    .strictObject({
      headers_timeout_ms: z.int().min(100).max(600_000).optional(),
      request_timeout_ms: z.int().min(100).max(3_600_000).optional(),
    })
    .optional(),
  realtime: z
    .strictObject({
      max_unauthenticated_per_address: z.int().min(1).max(1_000_000).optional(),
      max_unauthenticated: z.int().min(1).max(10_000_000).optional(),
    })
    .optional(),
  trust_proxy: z.boolean().optional(),
  shutdown: z
    .strictObject({
      grace_ms: z.int().min(0).max(600_000).optional(),
    })
    .optional(),
  integrity_check: z
    .strictObject({
      timeout_ms: z.int().min(0).max(86_400_000).optional(),
    })
    .optional(),
  metrics: z
    .strictObject({
      enabled: z.boolean().optional(),
      host: z.string().min(1).max(255).optional(),
      port: z.int().min(0).max(65_535).optional(),
      token: z.string().min(16, 'must be at least 16 characters').max(512).optional(),
      history_interval_s: z.int().min(1).max(60).optional(),
    })
    .optional(),
  health: z
    .strictObject({
      host: z.string().min(1).max(255).optional(),
      port: z.int().min(0).max(65_535).optional(),
      stall_ms: z.int().min(10).max(600_000).optional(),
    })
    .optional(),
  dashboard: z
    .strictObject({
      enabled: z.boolean().optional(),
      operator_token: z.string().min(16, 'must be at least 16 characters').max(512).optional(),
    })
    .optional(),
  files: z
    .strictObject({
      backend: z.enum(['local', 's3']).optional(),
      path: z.string().min(1).optional(),
      max_mb: z.int().min(1).max(1024).optional(),
      public_url: z.url({ protocol: /^https?$/ }).optional(),
      s3: z
        .strictObject({
          bucket: z.string().min(3).max(63),
          prefix: z.string().max(200).optional(),
          region: z.string().min(1).optional(),
          endpoint: z.url({ protocol: /^https?$/ }).optional(),
          force_path_style: z.boolean().optional(),
          access_key_id: z.string().min(1).optional(),
          secret_access_key: z.string().min(1).optional(),
        })
        .optional(),
    })
    .optional(),
  og: z
    .strictObject({
      allow: z.array(z.string().min(1).max(300)).max(1000).optional(),
      timeout_ms: z.int().min(100).max(60_000).optional(),
      max_kb: z.int().min(16).max(10_240).optional(),
      max_redirects: z.int().min(0).max(10).optional(),
      cache_ttl_s: z.int().min(0).max(7 * 86_400).optional(),
    })
    .optional(),
  moderation: z
    .strictObject({
      hide_flagged: z.boolean().optional(),
    })
    .optional(),
});

export type ConfigFile = z.infer<typeof fileSchema>;
type AppConfig = z.infer<typeof appSchema>;

export interface Config {
  readonly apps: App[];
  readonly storage: StorageConfig;
  readonly fanout: { inlineMaxFollowers: number; chunkSize: number; pullMinFollowers: number; leaseMs?: number; pollMs?: number };
  /** Bytes of finished read responses kept until the data changes; 0 turns the cache off. */
  readonly readCacheBytes: number;
  /**
   * Bytes of the parts many reads share (activity bodies, enriched activities, a reader's own
   * reactions on an activity), kept until the data changes whether or not whole responses are
   * cached; 0 turns them off.
   */
  readonly readPartsBytes: number;
  /** How long a client may take to send a request's headers, and the whole request (ms). */
  readonly limits: { readonly headersTimeoutMs: number; readonly requestTimeoutMs: number };
  /** Realtime clients handshaken but not yet subscribed with a valid token: per address, in total. */
  readonly realtime: { readonly maxUnauthenticatedPerAddress: number; readonly maxUnauthenticated: number };
  /**
   * Rivulet runs behind one reverse proxy: a client's address is the last `X-Forwarded-For` entry
   * (the one the proxy added), not the connection's.
   */
  readonly trustProxy: boolean;
  /** How long shutdown waits for requests and the current fan-out chunk before it stops anyway (ms). */
  readonly shutdownGraceMs: number;
  /** Time budget of the database integrity check run at start (ms); 0 skips it. */
  readonly integrityCheckMs: number;
  /** Each app's signal pipeline settings (personalization), by app id. */
  readonly signals: ReadonlyMap<string, SignalSettings>;
  /** Each app's personalized-read and learner settings, by app id. */
  readonly personalized: ReadonlyMap<string, PersonalizedSettings>;
  /**
   * Prometheus metrics at `/metrics`: on the API's port, or on `host:port` of their own when `port`
   * is set (`host` defaults to the API's); when `token` is set, scrapes must send
   * `Authorization: Bearer <token>`.
   */
  readonly metrics: {
    readonly enabled: boolean;
    readonly host?: string;
    readonly port?: number;
    readonly token?: string;
    /** Seconds between the samples the dashboard's charts show (an hour's worth is kept). */
    readonly historyIntervalS: number;
  };
  /**
   * The health listener: `GET /healthz` answered by a thread of its own on `host:port` (`host`
   * defaults to the API's), so that it does not wait for the main event loop and reports it
   * `stalled` (503) when it has not run for `stallMs`. Off unless `port` is set (config
   * `health.port`, flag `--health-port`, env RIVULET_HEALTH_PORT).
   */
  readonly health: { readonly host?: string; readonly port?: number; readonly stallMs: number };
  /** The web dashboard at `/dashboard/`; `operatorToken` signs in to every app. */
  readonly dashboard: { readonly enabled: boolean; readonly operatorToken?: string };
  /** Uploaded files and images: where their bytes go, the size limit, the origin of their URLs. */
  readonly files: FileConfig;
  /** Open Graph scraping (`og/`): outbound fetch limits and the operator's allow-list. */
  readonly og: OgSettings;
  /** Moderation: whether flagged activities, reactions and users' content are left out of reads. */
  readonly moderation: { readonly hideFlagged: boolean };
}

/**
 * Where feed data is kept: one SQLite file (default `<data>/rivulet.db`), or a Redis Cluster
 * (`nodes`: some of its `host:port`s; `durability`: `durable` by default, see docs/scaling.md;
 * `keyPrefix`: default `rv:`).
 */
export type StorageConfig = (
  | { readonly backend: 'sqlite'; readonly path: string }
  | { readonly backend: 'redis'; readonly nodes: readonly string[]; readonly durability: 'durable' | 'fast'; readonly keyPrefix: string }
) & {
  /** How long an activity no feed holds any more is kept before the sweep deletes it (ms). */
  readonly activityRetentionMs: number;
  /** Time between two sweep passes over every activity (ms). */
  readonly activitySweepIntervalMs: number;
};

/** The SQLite file of a config whose storage is SQLite; a clear error for any other backend. */
export function sqlitePath(config: Pick<Config, 'storage'>): string {
  if (config.storage.backend === 'sqlite') return config.storage.path;
  throw new ConfigError(`storage.backend "${config.storage.backend}": this command or mode needs the SQLite backend`);
}

/** Where file bytes are kept: a directory (default `<data>/files`) or an S3-compatible bucket. */
/** Where an S3-compatible store keeps Rivulet's files. */
export interface S3BlobSettings {
  readonly bucket: string;
  /** Prepended to every key, e.g. `rivulet/` (default none). */
  readonly prefix?: string;
  readonly region?: string;
  /** An S3-compatible endpoint (MinIO, Ceph, R2…); absent means AWS. */
  readonly endpoint?: string;
  /** Path-style addressing (`<endpoint>/<bucket>/<key>`), which most S3-compatible servers need. */
  readonly forcePathStyle?: boolean;
  /** Absent: the SDK's default chain (environment, shared config, instance role). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

export type FileStorageConfig = { readonly backend: 'local'; readonly path: string } | ({ readonly backend: 's3' } & S3BlobSettings);

export interface FileConfig {
  readonly storage: FileStorageConfig;
  readonly maxBytes: number;
  readonly publicUrl?: string;
}

export const DEFAULT_LIMITS = { headersTimeoutMs: 20_000, requestTimeoutMs: 60_000 };
export const DEFAULT_REALTIME_LIMITS = { maxUnauthenticatedPerAddress: 100, maxUnauthenticated: 10_000 };
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
/** Activities no feed holds any more: kept an hour, looked for every 5 minutes. */
export const DEFAULT_ACTIVITY_RETENTION_S = 3600;
export const DEFAULT_ACTIVITY_SWEEP_INTERVAL_S = 300;
export const DEFAULT_INTEGRITY_CHECK_MS = 30_000;
/** A main event loop that has not run for this long is reported stalled by the health listener. */
export const DEFAULT_HEALTH_STALL_MS = 5_000;
/** The window of an app's rate limits when `rate_limits.window_seconds` is not set: Stream's minute. */
export const DEFAULT_RATE_WINDOW_S = 60;

const DEFAULT_READ_CACHE_MB = 64;
const DEFAULT_READ_PARTS_MB = 32;

export class ConfigError extends Error {}

function describe(err: z.ZodError): string {
  return err.issues
    .map((i) => {
      const path = i.path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');
      return `${path || '(root)'}: ${i.message}`;
    })
    .join('; ');
}

function toApp(a: AppConfig, where: string): App {
  const groups = new Map<string, FeedGroup>();
  const personalized = personalizedSettings(a.personalization);
  try {
    checkPersonalizedScore(personalized);
  } catch (err) {
    if (err instanceof RankingConfigError) throw new ConfigError(`${where}.personalization.score: ${err.message}`);
    throw err;
  }
  a.feed_groups.forEach((g, i) => {
    if (groups.has(g.name)) throw new ConfigError(`${where}.feed_groups[${i}].name: duplicate feed group "${g.name}"`);
    if ((g.max_groups !== undefined || g.max_group_activities !== undefined) && g.type === 'flat') {
      throw new ConfigError(`${where}.feed_groups[${i}]: max_groups and max_group_activities apply to aggregated and notification groups only`);
    }
    if (g.aggregation_format !== undefined && g.type === 'flat') {
      throw new ConfigError(`${where}.feed_groups[${i}].aggregation_format: only aggregated and notification groups aggregate`);
    }
    if (g.ranking !== undefined && g.type !== 'flat') {
      throw new ConfigError(`${where}.feed_groups[${i}].ranking: ranking applies to flat groups only`);
    }
    const rankings = new Map<string, RankingMethod>();
    for (const [name, method] of Object.entries(g.ranking ?? {})) {
      try {
        const personal = isPlainObject(method) && method.type === 'personalized';
        rankings.set(name, personal ? compilePersonalizedMethod(name, method, personalized) : compileRankingMethod(name, method));
      } catch (err) {
        if (err instanceof RankingConfigError) throw new ConfigError(`${where}.feed_groups[${i}].ranking.${name}: ${err.message}`);
        throw err;
      }
    }
    let groupKey: FeedGroup['groupKey'];
    const format = g.aggregation_format ?? DEFAULT_AGGREGATION_FORMAT;
    if (g.type !== 'flat') {
      try {
        groupKey = compileAggregationFormat(format);
      } catch (err) {
        if (err instanceof AggregationFormatError) throw new ConfigError(`${where}.feed_groups[${i}].aggregation_format: ${err.message}`);
        throw err;
      }
    }
    groups.set(g.name, {
      name: g.name,
      type: g.type,
      aggregationFormat: g.type === 'flat' ? undefined : format,
      groupKey,
      rankings,
      maxLength: g.max_length ?? DEFAULT_MAX_LENGTH,
      maxGroups: g.max_groups ?? DEFAULT_MAX_GROUPS,
      maxGroupActivities: g.max_group_activities ?? DEFAULT_MAX_GROUP_ACTIVITIES,
      realtime: g.realtime ?? true,
      public: g.public ?? g.name === 'user',
      followable: g.followable ?? g.public ?? g.name === 'user',
    });
  });
  const r = a.rate_limits;
  const rateLimits =
    r === undefined
      ? undefined
      : { windowSeconds: r.window_seconds ?? DEFAULT_RATE_WINDOW_S, default: r.default ?? null, endpoints: new Map(Object.entries(r.endpoints ?? {})) };
  return { appId: a.app_id, apiKey: a.api_key, apiSecret: a.api_secret, groups, rateLimits };
}

/** Validates a parsed config object; throws {@link ConfigError} naming the field. */
export function parseConfig(raw: unknown, dataDir: string): Config {
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(describe(parsed.error));
  const f = parsed.data;
  try {
    AddressPolicy.validate(f.og?.allow ?? []);
  } catch (err) {
    throw new ConfigError(`og.allow: ${(err as Error).message}`);
  }
  const ids = new Set<string>();
  const keys = new Set<string>();
  const apps = f.apps.map((a, i) => {
    if (ids.has(a.app_id)) throw new ConfigError(`apps[${i}].app_id: duplicate app id "${a.app_id}"`);
    if (keys.has(a.api_key)) throw new ConfigError(`apps[${i}].api_key: duplicate api key`);
    ids.add(a.app_id);
    keys.add(a.api_key);
    return toApp(a, `apps[${i}]`);
  });
  const limits = {
    headersTimeoutMs: f.limits?.headers_timeout_ms ?? DEFAULT_LIMITS.headersTimeoutMs,
    requestTimeoutMs: f.limits?.request_timeout_ms ?? DEFAULT_LIMITS.requestTimeoutMs,
  };
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new ConfigError(`limits.headers_timeout_ms: must not be longer than request_timeout_ms (${limits.requestTimeoutMs})`);
  }
  return {
    apps,
    storage: {
      ...(f.storage?.backend === 'redis'
        ? { backend: 'redis' as const, nodes: f.storage.nodes, durability: f.storage.durability ?? 'durable', keyPrefix: f.storage.key_prefix ?? 'rv:' }
        : { backend: 'sqlite' as const, path: resolve(dataDir, f.storage?.path ?? 'rivulet.db') }),
      activityRetentionMs: (f.storage?.activity_retention_s ?? DEFAULT_ACTIVITY_RETENTION_S) * 1000,
      activitySweepIntervalMs: (f.storage?.activity_sweep_interval_s ?? DEFAULT_ACTIVITY_SWEEP_INTERVAL_S) * 1000,
    },
    fanout: {
      inlineMaxFollowers: f.fanout?.inline_max_followers ?? DEFAULT_FANOUT.inlineMaxFollowers,
      chunkSize: f.fanout?.chunk_size ?? DEFAULT_FANOUT.chunkSize,
      pullMinFollowers: f.fanout?.pull_min_followers ?? DEFAULT_FANOUT.pullMinFollowers,
      ...(f.fanout?.lease_s !== undefined ? { leaseMs: f.fanout.lease_s * 1000 } : {}),
      ...(f.fanout?.poll_ms !== undefined ? { pollMs: f.fanout.poll_ms } : {}),
    },
    readCacheBytes: (f.read_cache?.max_mb ?? DEFAULT_READ_CACHE_MB) * 1024 * 1024,
    readPartsBytes: (f.read_cache?.parts_mb ?? DEFAULT_READ_PARTS_MB) * 1024 * 1024,
    limits,
    realtime: {
      maxUnauthenticatedPerAddress: f.realtime?.max_unauthenticated_per_address ?? DEFAULT_REALTIME_LIMITS.maxUnauthenticatedPerAddress,
      maxUnauthenticated: f.realtime?.max_unauthenticated ?? DEFAULT_REALTIME_LIMITS.maxUnauthenticated,
    },
    trustProxy: f.trust_proxy ?? false,
    shutdownGraceMs: f.shutdown?.grace_ms ?? DEFAULT_SHUTDOWN_GRACE_MS,
    integrityCheckMs: f.integrity_check?.timeout_ms ?? DEFAULT_INTEGRITY_CHECK_MS,
    signals: new Map(f.apps.map((a) => [a.app_id, signalSettings(a.personalization)])),
    personalized: new Map(f.apps.map((a) => [a.app_id, personalizedSettings(a.personalization)])),
    metrics: {
      enabled: f.metrics?.enabled ?? true,
      host: f.metrics?.host,
      port: f.metrics?.port,
      token: f.metrics?.token,
      historyIntervalS: f.metrics?.history_interval_s ?? 10,
    },
    health: { host: f.health?.host, port: f.health?.port, stallMs: f.health?.stall_ms ?? DEFAULT_HEALTH_STALL_MS },
    dashboard: { enabled: f.dashboard?.enabled ?? true, operatorToken: f.dashboard?.operator_token },
    files: fileConfig(f.files, dataDir),
    og: {
      allow: f.og?.allow ?? DEFAULT_OG.allow,
      timeoutMs: f.og?.timeout_ms ?? DEFAULT_OG.timeoutMs,
      maxBytes: f.og?.max_kb !== undefined ? f.og.max_kb * 1024 : DEFAULT_OG.maxBytes,
      maxRedirects: f.og?.max_redirects ?? DEFAULT_OG.maxRedirects,
      cacheTtlMs: f.og?.cache_ttl_s !== undefined ? f.og.cache_ttl_s * 1000 : DEFAULT_OG.cacheTtlMs,
    },
    moderation: { hideFlagged: f.moderation?.hide_flagged ?? false },
  };
}

function fileConfig(f: ConfigFile['files'], dataDir: string): FileConfig {
  const maxBytes = f?.max_mb !== undefined ? f.max_mb * 1024 * 1024 : DEFAULT_MAX_UPLOAD_BYTES;
  const publicUrl = f?.public_url?.replace(/\/+$/, '');
  if ((f?.backend ?? 'local') === 'local') {
    if (f?.s3 !== undefined) throw new ConfigError('files.s3: set files.backend to "s3" to use it');
    return { storage: { backend: 'local', path: resolve(dataDir, f?.path ?? 'files') }, maxBytes, publicUrl };
  }
  const s3 = f?.s3;
  if (s3 === undefined) throw new ConfigError('files.s3: required when files.backend is "s3" (at least the bucket)');
  if (f?.path !== undefined) throw new ConfigError('files.path: applies to the local backend only');
  if ((s3.access_key_id === undefined) !== (s3.secret_access_key === undefined)) {
    throw new ConfigError('files.s3: give both access_key_id and secret_access_key, or neither (then the AWS SDK finds credentials itself)');
  }
  return {
    storage: {
      backend: 's3',
      bucket: s3.bucket,
      prefix: s3.prefix,
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: s3.force_path_style,
      credentials: s3.access_key_id !== undefined ? { accessKeyId: s3.access_key_id, secretAccessKey: s3.secret_access_key! } : undefined,
    },
    maxBytes,
    publicUrl,
  };
}

/** Validates config text; errors are prefixed with `where` (e.g. "config file /x/app.json"). */
export function parseConfigText(text: string, dataDir: string, where: string): Config {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${where} is not valid JSON: ${(err as Error).message}`);
  }
  try {
    return parseConfig(raw, dataDir);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${where}: ${err.message}`);
    throw err;
  }
}

/** Reads and validates a config file; also returns the text it read. */
export function readConfigFile(path: string, dataDir: string): { config: Config; text: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  return { config: parseConfigText(text, dataDir, `config file ${path}`), text };
}

/** Reads and validates a config file. */
export function loadConfigFile(path: string, dataDir: string): Config {
  return readConfigFile(path, dataDir).config;
}

/** The feed groups a new app starts with. */
export const DEFAULT_GROUPS = [
  { name: 'user', type: 'flat' as const },
  { name: 'timeline', type: 'flat' as const },
  { name: 'timeline_aggregated', type: 'aggregated' as const },
  { name: 'notification', type: 'notification' as const },
];

const APP_FILE = 'app.json';

/** Makes a new app with random credentials and the default feed groups. */
export function newAppConfig(): ConfigFile {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let key = '';
  for (let i = 0; i < 12; i++) key += alphabet[randomInt(alphabet.length)];
  return {
    apps: [
      {
        app_id: String(randomInt(100_000, 999_999)),
        api_key: key,
        api_secret: randomBytes(32).toString('base64url'),
        feed_groups: DEFAULT_GROUPS,
      },
    ],
  };
}

/**
 * The config of a data dir used without a config file: `<data>/app.json`, created with a new
 * app on first use. Returns the config and whether it was just created.
 */
export function ensureDataDirConfig(dataDir: string): { config: Config; created: boolean; file: string; text: string } {
  // The directory holds the app's secret and its data: only its owner may enter it.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, APP_FILE);
  if (existsSync(file)) return { ...readConfigFile(file, dataDir), created: false, file };
  const fresh = newAppConfig();
  const text = JSON.stringify(fresh, null, 2) + '\n';
  // Whole or not at all: a first start killed while writing must not leave a file cut short.
  if (!writeFileDurably(file, text, true)) return { ...readConfigFile(file, dataDir), created: false, file };
  return { config: parseConfig(fresh, dataDir), created: true, file, text };
}
