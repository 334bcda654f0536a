import { Command } from 'commander';
import { ConfigError } from '../config/config.js';
import { existsSync } from 'node:fs';
import { addApp, configPath, listApps, rotateSecret, UsageError, userToken } from './apps.js';
import { deadLetters } from './dead-letters.js';
import { exportCommand, importCommand } from './export-import.js';
import { init } from './init.js';
import { loadConfig, resolveServeOptions } from '../compose/environment.js';
import { serve } from './serve.js';
import { worker } from './worker.js';

/** The `rivulet` command line. */
export async function run(argv: string[]): Promise<void> {
  const program = new Command('rivulet')
    .description('Self-hosted activity-feed server speaking the Stream Activity Feeds v2 API')
    .showHelpAfterError();
  const common = (c: Command) =>
    c
      .option('--port <port>', 'port to listen on (env RIVULET_PORT, default 8000)')
      .option('--host <host>', 'address to bind (env RIVULET_HOST, default 127.0.0.1)')
      .option('--data <dir>', 'data directory (env RIVULET_DATA_DIR, default ./data)')
      .option('--config <file>', 'JSON config file (env RIVULET_CONFIG)');
  common(program.command('serve').description('run the API server with the in-process fan-out worker'))
    .option('--no-worker', 'do not run the fan-out worker in this process')
    .option('--health-port <port>', 'also answer GET /healthz on this port, from a thread of its own that does not wait for the main event loop (env RIVULET_HEALTH_PORT; default: config health.port, else off); single process only')
    .option('--workers <n>', 'HTTP processes sharing the port and the data (env RIVULET_WORKERS, default 1); with more than 1, one fan-out worker runs in the primary process')
    .action(async (o) => serve(o));
  common(program.command('worker').description('run only the fan-out worker (beside `serve --no-worker` processes on the same data)')).action(
    async (o) => worker(o),
  );
  common(program.command('init').description('create an app with new credentials in the data directory and print them')).action(
    async (o) => init(o),
  );
  const data = (c: Command) =>
    c.option('--data <dir>', 'data directory (env RIVULET_DATA_DIR, default ./data)').option('--config <file>', 'JSON config file (env RIVULET_CONFIG)');
  data(program.command('token').description("print a user token of an app, as an app's backend signs them for its clients"))
    .requiredOption('--user <id>', 'the user the token acts as')
    .option('--app <app_id>', 'the app (needed when the config has several)')
    .option('--expires-in <seconds>', 'make the token expire after this many seconds')
    .action(async (o: { user: string; app?: string; expiresIn?: string; data?: string; config?: string }) => {
      const { dataDir, configFile } = resolveServeOptions(o);
      if (!existsSync(configPath(dataDir, configFile))) throw new UsageError(`no config at ${configPath(dataDir, configFile)}: \`rivulet init\` creates one`);
      const { config } = loadConfig(dataDir, configFile);
      const expiresIn = o.expiresIn === undefined ? undefined : Number(o.expiresIn);
      process.stdout.write(userToken(config, { user: o.user, app: o.app, expiresIn }) + '\n');
    });
  data(program.command('dead-letters').description('list the fan-out jobs that failed for good, or put them back in the queue'))
    .option('--requeue', 'put them back in the queue (all, or those named by --job)')
    .option('--job <id...>', 'with --requeue: only these jobs')
    .action(async (o: { data?: string; config?: string; requeue?: boolean; job?: string[] }) => deadLetters(o));
  data(program.command('export').description("write all data of an app, from the store the config names, to a JSON-lines file"))
    .option('--app <app_id>', 'the app (needed when the config has several)')
    .requiredOption('--out <file>', 'the file to write ("-": stdout); written as <file>.partial and renamed when complete')
    .option('--allow-pending', 'export even while fan-out jobs are pending (the file holds them; import queues them again)')
    .action(async (o: { data?: string; config?: string; app?: string; out: string; allowPending?: boolean }) => {
      await exportCommand(o);
    });
  data(program.command('import').description('write the data of an export file into an app of the store the config names, then check the counts'))
    .argument('<file>', 'a file written by `rivulet export`')
    .option('--app <app_id>', "the app to import into (default: the file's app; it must be in the config)")
    .option('--resume', 'skip the lines an interrupted import of the same file already applied (its <file>.import-checkpoint)')
    .action(async (file: string, o: { data?: string; config?: string; app?: string; resume?: boolean }) => {
      await importCommand(file, o);
    });
  const apps = program.command('apps').description('list the apps of the config, add one, or rotate a secret');
  data(apps.command('list', { isDefault: true }).description('list apps with their keys and feed groups'))
    .option('--show-secrets', 'print the secrets too')
    .action(async (o: { showSecrets?: boolean; data?: string; config?: string }) => {
      const { dataDir, configFile } = resolveServeOptions(o);
      process.stdout.write(listApps(dataDir, configFile, o.showSecrets === true));
    });
  data(apps.command('add').description('add an app with a new key and secret and the default feed groups'))
    .option('--app-id <id>', 'its app id (default: a random number)')
    .action(async (o: { appId?: string; data?: string; config?: string }) => {
      const { dataDir, configFile } = resolveServeOptions(o);
      process.stdout.write(addApp(dataDir, configFile, { appId: o.appId }).text);
    });
  data(apps.command('rotate-secret').description("give an app a new secret (tokens signed with the old one stop working once servers restart)"))
    .argument('<app_id>', 'the app')
    .action(async (appId: string, o: { data?: string; config?: string }) => {
      const { dataDir, configFile } = resolveServeOptions(o);
      process.stdout.write(rotateSecret(dataDir, configFile, appId).text);
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`rivulet: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    if (err instanceof UsageError) {
      process.stderr.write(`rivulet: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
