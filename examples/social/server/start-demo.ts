/**
 * Starts the whole demo in this process: Rivulet on its data directory (created and seeded with the
 * small world on first start), then the demo's backend serving the built app. Used by
 * `npm run demo` and by the browser tests (test/support/browser.ts).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'getstream';
import pino, { type Logger } from 'pino';
import { readConfigFile, type ConfigFile } from '../../../src/config/config.js';
import { createRivulet, type Rivulet } from '../../../src/main.js';
import { startBackend, type Backend } from './backend.js';
import { seedSteps, seedWorld, type SeededWorld } from './world.js';

/** The demo app's feed groups: what react-activity-feed's components read and write by default. */
export const DEMO_GROUPS: ConfigFile['apps'][number]['feed_groups'] = [
  { name: 'user', type: 'flat' },
  {
    name: 'timeline',
    type: 'flat',
    ranking: {
      popular: { score: 'decay_linear(time, 86400) * (1 + popularity) ^ 0.5', defaults: { popularity: 0 } },
      recent_likes: { score: 'decay_exp(time, 43200) + reaction_counts.like * 0.1' },
    },
  },
  // Likes and comments of one post fold into one notification ("Bob and 2 others liked your post").
  { name: 'notification', type: 'notification', aggregation_format: '{{ verb }}_{{ object }}' },
];

export interface DemoOptions {
  /** Rivulet's data directory: app.json and the database; created and seeded when new. */
  readonly dataDir: string;
  readonly host?: string;
  /** Rivulet's port (0 picks a free one). */
  readonly rivuletPort?: number;
  /** The app's port (0 picks a free one). */
  readonly appPort?: number;
  /** The built app (examples/social/setup.mjs `ensureDemoApp()`). */
  readonly appDir: string;
  readonly logger?: Logger;
  /** Called with the number of seeding steps before seeding, then after each step. */
  readonly progress?: { start(total: number): void; tick(n?: number): void; stop(): void };
  /** Extra config for the demo's Rivulet (merged into the file created on first start). */
  readonly extraConfig?: Partial<ConfigFile>;
}

export interface Demo {
  readonly rivulet: Rivulet;
  /** Rivulet's base URL, e.g. `http://127.0.0.1:8000`. */
  readonly rivuletUrl: string;
  /** The app, e.g. `http://127.0.0.1:3000`. */
  readonly appUrl: string;
  readonly app: { readonly appId: string; readonly apiKey: string; readonly apiSecret: string };
  /** What was seeded now, or null when the data directory already held the world. */
  readonly seeded: SeededWorld | null;
  readonly dataDir: string;
  close(): Promise<void>;
}

const SEEDED_MARK = 'seeded';

/** Writes the demo's app.json (random key and secret) unless the data directory has one. */
function ensureConfig(dataDir: string, extra: Partial<ConfigFile>): string {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'app.json');
  if (!existsSync(file)) {
    const config: ConfigFile = {
      apps: [
        {
          app_id: String(randomInt(100_000, 999_999)),
          api_key: 'demo' + randomBytes(6).toString('hex'),
          api_secret: randomBytes(32).toString('base64url'),
          feed_groups: DEMO_GROUPS,
        },
      ],
      ...extra,
    };
    writeFileSync(file, JSON.stringify(config, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  }
  return file;
}

export async function startDemo(o: DemoOptions): Promise<Demo> {
  const host = o.host ?? '127.0.0.1';
  const logger = o.logger ?? pino({ level: 'warn' });
  const file = ensureConfig(o.dataDir, o.extraConfig ?? {});
  const { config } = readConfigFile(file, o.dataDir);
  const app = config.apps[0];
  const rivulet = await createRivulet({ config, logger });
  let backend: Backend | null = null;
  try {
    const address = await rivulet.listen(o.rivuletPort ?? 0, host);
    const rivuletUrl = address.replace('://0.0.0.0', '://127.0.0.1').replace('://[::]', '://127.0.0.1');
    let seeded: SeededWorld | null = null;
    const mark = join(o.dataDir, SEEDED_MARK);
    if (!existsSync(mark)) {
      const client = connect(app.apiKey, app.apiSecret, app.appId, { urlOverride: { api: `${rivuletUrl}/api/` } });
      o.progress?.start(seedSteps());
      try {
        seeded = await seedWorld(client, new Date(), (n) => o.progress?.tick(n));
      } finally {
        o.progress?.stop();
      }
      writeFileSync(mark, JSON.stringify({ at: new Date().toISOString(), ...seeded }) + '\n');
    }
    backend = await startBackend({
      appId: app.appId,
      apiKey: app.apiKey,
      apiSecret: app.apiSecret,
      rivuletUrl,
      appDir: o.appDir,
      host,
      port: o.appPort ?? 0,
    });
    const started = backend;
    return {
      rivulet,
      rivuletUrl,
      appUrl: backend.url,
      app: { appId: app.appId, apiKey: app.apiKey, apiSecret: app.apiSecret },
      seeded,
      dataDir: o.dataDir,
      async close() {
        await started.close();
        await rivulet.close();
      },
    };
  } catch (err) {
    await backend?.close();
    await rivulet.close();
    throw err;
  }
}
