import { Command } from 'commander';
import { ConfigError } from '../config/config.js';
import { init } from './init.js';
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
    .option('--workers <n>', 'HTTP processes sharing the port and the data (env RIVULET_WORKERS, default 1); with more than 1, one fan-out worker runs in the primary process')
    .action(async (o) => serve(o));
  common(program.command('worker').description('run only the fan-out worker (beside `serve --no-worker` processes on the same data)')).action(
    async (o) => worker(o),
  );
  common(program.command('init').description('create an app with new credentials in the data directory and print them')).action(
    async (o) => init(o),
  );
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`rivulet: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
