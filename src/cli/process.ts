import type { Logger } from 'pino';
import { DEFAULT_SHUTDOWN_GRACE_MS, type Config } from '../config/config.js';

/** Prints an app's credentials and a one-line client snippet. */
export function printCredentials(config: Config, baseUrl: string, created: boolean, file: string): void {
  const lines: string[] = [];
  lines.push(created ? `Created a new app; its credentials are stored in ${file}` : `Apps from ${file}`);
  for (const app of config.apps) {
    lines.push(`  app_id:     ${app.appId}`);
    lines.push(`  api_key:    ${app.apiKey}`);
    lines.push(`  api_secret: ${app.apiSecret}`);
    lines.push(`  feed groups: ${[...app.groups.values()].map((g) => `${g.name} (${g.type})`).join(', ')}`);
    lines.push(
      `  client: require('getstream').connect('${app.apiKey}', '${app.apiSecret}', '${app.appId}', { urlOverride: { api: '${baseUrl}/api/' }, fayeUrl: '${baseUrl}/faye' })`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

/** An address to show: a wildcard bind shown as loopback, which a browser on this machine can open. */
export function shownAddress(address: string): string {
  return address.replace('://0.0.0.0', '://127.0.0.1').replace('://[::]', '://127.0.0.1');
}

/**
 * A shutdown to call on a signal (or other cause): closes `rivulet` once, then exits 0, or 1 if
 * closing failed or did not finish within the grace period (plus a little for closing the store):
 * a stuck close never keeps the process alive. What was acknowledged is durable either way.
 */
export function shutdownOnce(rivulet: { close(): Promise<void> }, logger: Logger, graceMs = DEFAULT_SHUTDOWN_GRACE_MS): (why: string) => void {
  let closing = false;
  return (why) => {
    if (closing) return;
    closing = true;
    logger.info({ why, grace_ms: graceMs }, 'shutting down');
    setTimeout(() => {
      logger.error({ grace_ms: graceMs }, 'shutdown did not finish within the grace period; exiting');
      process.exit(1);
    }, graceMs + 2000).unref();
    rivulet.close().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
}

/** Runs `shutdown` on SIGINT and SIGTERM. */
export function onSignals(shutdown: (why: string) => void): void {
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}
