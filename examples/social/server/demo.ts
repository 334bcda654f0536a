/**
 * `npm run demo`: installs and builds the demo app when needed, starts Rivulet (seeding a small
 * world on first start) and the demo's backend, and prints where to go. Ctrl-C stops everything.
 *
 * Settings: DEMO_PORT (the app, default 3000), RIVULET_PORT (default 8000), RIVULET_HOST (default
 * 127.0.0.1), DEMO_DATA (default examples/social/.data); `npm run demo -- --reset` starts over
 * with a new app and a freshly seeded world.
 */
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pino from 'pino';
import { progressBar } from '../../../src/cli/progress.js';
import { startDemo } from './start-demo.js';

const here = dirname(fileURLToPath(import.meta.url));
const social = join(here, '..');

function port(name: string, fallback: number): number {
  const text = process.env[name] ?? String(fallback);
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name}: "${text}" is not a port`);
  return n;
}

async function main(): Promise<void> {
  const dataDir = resolve(process.env.DEMO_DATA ?? join(social, '.data'));
  if (process.argv.includes('--reset')) rmSync(dataDir, { recursive: true, force: true });
  const { ensureDemoApp } = (await import(pathToFileURL(join(social, 'setup.mjs')).href)) as {
    ensureDemoApp: (log?: (line: string) => void) => Promise<string>;
  };
  const appDir = await ensureDemoApp();
  const logger = pino({ level: process.env.RIVULET_LOG_LEVEL ?? 'warn' });
  const demo = await startDemo({
    dataDir,
    appDir,
    host: process.env.RIVULET_HOST ?? '127.0.0.1',
    rivuletPort: port('RIVULET_PORT', 8000),
    appPort: port('DEMO_PORT', 3000),
    logger,
    progress: progressBar('seeding the demo world', { unit: 'steps' }),
  });
  const lines = [
    '',
    `  Riverside, the demo social app:  ${demo.appUrl}`,
    `  Rivulet's dashboard:             ${demo.rivuletUrl}/dashboard/  (sign in with the key and secret below)`,
    `  Prometheus metrics:              ${demo.rivuletUrl}/metrics`,
    '',
    `  app_id ${demo.app.appId}   api_key ${demo.app.apiKey}   api_secret ${demo.app.apiSecret}`,
    `  data: ${demo.dataDir}${demo.seeded ? ` (seeded now: ${demo.seeded.users} people, ${demo.seeded.posts} posts, ${demo.seeded.reactions} likes and comments)` : ''}`,
    '',
    '  Ctrl-C stops the demo; `npm run demo -- --reset` starts over with a fresh world.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    demo.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`demo: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
