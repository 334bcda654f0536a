/**
 * The browser tests' harness: Debian's Chromium driven by playwright-core, and the demo social app
 * (examples/social) with Rivulet and the demo's backend started in this process on free ports.
 *
 * ```ts
 * const setup = await browserSetupOrSkip();
 * describe('…', { skip: setup.skip }, () => {
 *   let h: DemoHarness;
 *   before(async () => (h = await startDemoHarness(setup)));
 *   after(() => h?.close());
 *   it('…', async () => { const page = await h.pageAs('alice'); … });
 * });
 * ```
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connect, type StreamClient } from 'getstream';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page, type Response } from 'playwright-core';
import pino from 'pino';
import type { ConfigFile } from '../../src/config/config.js';
import { startDemo, type Demo } from '../../examples/social/server/start-demo.js';

/** The flags Chromium runs with in the tests (no sandbox: the tests run as root in CI). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

export const VIEWPORT = { width: 1200, height: 900 };

export type BrowserSetup = { readonly executablePath: string; readonly appDir: string; readonly skip?: undefined } | { readonly skip: string };

let setupOnce: Promise<BrowserSetup> | null = null;

/**
 * Chromium (installed with apt-get when missing, see scripts/browser-setup.mjs) and the built demo
 * app; or `{ skip }` with the reason Chromium cannot be had, for `describe(…, { skip })`.
 */
export function browserSetupOrSkip(): Promise<BrowserSetup> {
  setupOnce ??= (async () => {
    const url = pathToFileURL(join(import.meta.dirname, '..', '..', 'scripts', 'browser-setup.mjs')).href;
    const { browserSetup } = (await import(url)) as {
      browserSetup: () => Promise<{ chromium: { path?: string; skip?: string }; appDir: string }>;
    };
    const { chromium: c, appDir } = await browserSetup();
    if (c.skip !== undefined || c.path === undefined) return { skip: `Chromium is not available: ${c.skip ?? 'not found'}` };
    return { executablePath: c.path, appDir };
  })();
  return setupOnce;
}

/** A page's console lines and uncaught errors, kept for waiting and for assertions. */
export interface PageLog {
  readonly console: string[];
  readonly errors: string[];
  /** Responses received, as `<status> <method> <url>`. */
  readonly responses: string[];
}

export interface DemoHarness {
  readonly demo: Demo;
  readonly browser: Browser;
  /** A server-side client (with the demo app's secret) against the demo's Rivulet. */
  client(): StreamClient;
  /** A new browser context (own cookies and storage) with the demo app open, signed in as `userId`. */
  pageAs(userId: string): Promise<Page>;
  /** A new browser context with `url` (default: the demo app's sign-in page) open. */
  newPage(url?: string): Promise<Page>;
  /** What `page` logged so far. */
  log(page: Page): PageLog;
  /** Resolves once `page` has subscribed to `feed` (`timeline:alice`) over realtime. */
  realtime(page: Page, feed: string): Promise<void>;
  /** Resolves once `page` has received (before or after this call) a response whose `<status> <method> <url>` matches. */
  response(page: Page, pattern: RegExp): Promise<void>;
  /** Saves a screenshot named `name`.png when RIVULET_SCREENSHOTS names a folder (see the README). */
  screenshot(page: Page, name: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts Rivulet, the demo backend (with its seeded world) and Chromium. */
export async function startDemoHarness(
  setup: Exclude<BrowserSetup, { skip: string }>,
  opts: { extraConfig?: Partial<ConfigFile> } = {},
): Promise<DemoHarness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rivulet-demo-'));
  const demo = await startDemo({
    dataDir,
    appDir: setup.appDir,
    logger: pino({ level: process.env.TEST_LOG ?? 'silent' }),
    extraConfig: opts.extraConfig,
  });
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: setup.executablePath, args: CHROMIUM_ARGS });
  } catch (err) {
    await demo.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const contexts: BrowserContext[] = [];
  const logs = new WeakMap<Page, PageLog>();

  const newPage = async (url = demo.appUrl): Promise<Page> => {
    const context = await browser.newContext({ viewport: VIEWPORT });
    contexts.push(context);
    const page = await context.newPage();
    const log: PageLog = { console: [], errors: [], responses: [] };
    logs.set(page, log);
    page.on('console', (m: ConsoleMessage) => log.console.push(m.text()));
    page.on('pageerror', (e: Error) => log.errors.push(e.message));
    page.on('response', (r: Response) => log.responses.push(`${r.status()} ${r.request().method()} ${r.url()}`));
    await page.goto(url);
    return page;
  };

  const harness: DemoHarness = {
    demo,
    browser,
    client: () => connect(demo.app.apiKey, demo.app.apiSecret, demo.app.appId, { urlOverride: { api: `${demo.rivuletUrl}/api/` } }),
    newPage,
    async pageAs(userId) {
      const page = await newPage(`${demo.appUrl}/?user=${encodeURIComponent(userId)}`);
      await page.getByTestId('signed-in-as').waitFor();
      return page;
    },
    log(page) {
      const log = logs.get(page);
      if (!log) throw new Error('not a page of this harness');
      return log;
    },
    async realtime(page, feed) {
      // react-activity-feed logs this once the subscription is confirmed, and Rivulet confirms a
      // subscription only once it counts (writes after it are published to it).
      const line = `now listening to changes in realtime for ${feed}`;
      const log = harness.log(page);
      if (log.console.includes(line)) return;
      await page.waitForEvent('console', { predicate: (m) => m.text() === line, timeout: 30_000 });
    },
    async response(page, pattern) {
      if (harness.log(page).responses.some((r) => pattern.test(r))) return;
      await page.waitForEvent('response', { predicate: (r) => pattern.test(`${r.status()} ${r.request().method()} ${r.url()}`), timeout: 30_000 });
    },
    async screenshot(page, name) {
      const dir = process.env.RIVULET_SCREENSHOTS;
      if (!dir) return;
      mkdirSync(dir, { recursive: true });
      await page.screenshot({ path: join(dir, `${name}.png`) });
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close();
      await demo.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}
