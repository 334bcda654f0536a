// The dashboard in a real browser, over the demo's seeded world: sign in with the app's key and
// secret, see readiness and charts, reveal the secret, explore a ranked feed and follow its
// references, re-rank a feed with a typed formula and see the order change (and a formula error
// pointed at), and watch a feed change live.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { browserSetupOrSkip, startDemoHarness, type DemoHarness } from '../support/browser.js';

const setup = await browserSetupOrSkip();

describe('the dashboard in a browser', { skip: setup.skip }, () => {
  let h: DemoHarness;
  let page: Page;
  let dashboard: string;
  before(async () => {
    if (setup.skip !== undefined) return;
    // A sample a second, so the charts have a few points within the test.
    h = await startDemoHarness(setup, { extraConfig: { metrics: { history_interval_s: 1 } } });
    dashboard = `${h.demo.rivuletUrl}/dashboard/`;
  });
  after(async () => h?.close());

  /** The app id in the page's links (one app: the demo's). */
  const go = async (hash: string) => {
    await page.evaluate((hsh) => (window.location.hash = hsh), hash);
  };

  it('signs in with the app key and secret and shows readiness and the metric charts', async () => {
    page = await h.newPage(dashboard);
    await page.locator('input[name=api_key]').fill(h.demo.app.apiKey);
    await page.locator('input[name=api_secret]').fill('not the secret at all');
    await page.locator('form button[type=submit]').first().click();
    await page.getByRole('alert').filter({ hasText: 'do not match' }).waitFor();

    await page.locator('input[name=api_secret]').fill(h.demo.app.apiSecret);
    await page.locator('form button[type=submit]').first().click();
    await page.getByTestId('readiness').filter({ hasText: 'ready' }).waitFor();
    for (const check of ['started', 'store', 'migrations', 'fanout_worker']) {
      assert.ok(((await page.getByTestId('readiness').textContent()) ?? '').includes(check));
    }
    await page.locator('[data-testid=chart-latency] canvas').waitFor();
    await page.locator('[data-testid=chart-throughput] canvas').waitFor();
    // Feed reads (answered from the read cache after the first) until the history holds a few
    // samples with requests in them; then the charts redraw with them.
    const client = h.client();
    let reading = true;
    const traffic = (async () => {
      for (let i = 0; reading; i++) {
        await client.feed('timeline', ['alice', 'bob', 'carol'][i % 3]).get({ limit: 10 });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await page.waitForFunction(
      async () => {
        const r = await fetch('/dashboard/api/metrics/history', { credentials: 'same-origin' });
        const body = (await r.json()) as { samples: { requestsPerSecond: number; cacheHitRate: number | null }[] };
        return body.samples.filter((x) => x.requestsPerSecond > 0 && x.cacheHitRate !== null).length >= 5;
      },
      undefined,
      { polling: 250, timeout: 30_000 },
    );
    reading = false;
    await traffic;
    await page.reload();
    await page.getByTestId('chart-latency').filter({ hasText: 'now p50' }).waitFor();
    // The session cookie is HttpOnly: page scripts cannot read it.
    assert.equal(await page.evaluate(() => document.cookie), '');
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'rivulet_dashboard');
    assert.ok(session?.httpOnly);
    assert.equal(session?.sameSite, 'Strict');
    await h.screenshot(page, 'dashboard-overview');
    assert.deepEqual(h.log(page).errors, []);
  });

  it('shows apps and keys with the secret hidden until asked for', async () => {
    await go('#/apps');
    const card = page.getByTestId(`app-${h.demo.app.appId}`);
    await card.waitFor();
    assert.ok(((await card.textContent()) ?? '').includes(h.demo.app.apiKey));
    assert.ok(!((await page.content()) ?? '').includes(h.demo.app.apiSecret), 'the secret is not in the page');
    await card.getByTestId('group-timeline').filter({ hasText: 'popular' }).waitFor();
    await card.getByTestId('reveal-secret').click();
    assert.equal(await card.getByTestId('secret').textContent(), h.demo.app.apiSecret);
  });

  it('explores a ranked feed: scores in order, score_vars, an activity with its reactions, and the feeds it links to', async () => {
    await go('#/explore');
    await page.getByLabel('feed group').selectOption('timeline');
    await page.getByLabel('feed user id').fill('alice');
    await page.locator('form.picker button[type=submit]').click();
    const rows = page.locator('[data-testid=activities] tbody tr');
    await rows.first().waitFor();
    await page.getByLabel('ranking').selectOption('popular');
    await page.locator('th', { hasText: 'score' }).waitFor();
    await page.locator('.formula', { hasText: 'decay_linear' }).waitFor();
    await rows.first().locator('.chip', { hasText: 'popularity=' }).waitFor();
    const scores = (await rows.locator('td.score strong').allTextContents()).map(Number);
    assert.ok(scores.length >= 10);
    for (let i = 1; i < scores.length; i++) assert.ok(scores[i - 1] >= scores[i], `scores in order: ${scores.join(', ')}`);
    await h.screenshot(page, 'dashboard-explorer');

    // The most popular post has likes: open it.
    await rows.first().click();
    const detail = page.getByTestId('activity-detail');
    await detail.getByTestId('reactions').locator('li', { hasText: 'like' }).first().waitFor();
    const actorLink = detail.locator('a[data-testid^="feed-link-user:"]').first();
    const actorFeed = (await actorLink.textContent())!;
    await actorLink.click();
    await page.waitForFunction((f) => window.location.hash.includes(encodeURIComponent(f)), actorFeed);
    // The picker takes the feed from the new address after the address changes: wait for it (the
    // old feed's rows can still be on the page at that moment).
    await page.waitForFunction(
      (u) => (document.querySelector('input[aria-label="feed user id"]') as HTMLInputElement | null)?.value === u,
      actorFeed.slice('user:'.length),
      { timeout: 10_000 },
    );
    await rows.first().waitFor();
    // Who follows that user feed: timelines, linked.
    await page.getByTestId('followers').locator('a', { hasText: 'timeline:' }).first().waitFor();
    assert.deepEqual(h.log(page).errors, []);
  });

  it('re-ranks a feed live with a typed formula beside the current order, and points at a formula error', async () => {
    await go(`#/playground?app=${h.demo.app.appId}&feed=timeline:alice&method=popular`);
    const current = page.getByTestId('current-order');
    const next = page.getByTestId('new-order');
    await page.getByTestId('compile-ok').waitFor();
    await next.locator('li').first().waitFor();
    const ids = (l: typeof current) => l.locator('li').evaluateAll((els) => els.map((e) => e.getAttribute('data-activity-id')));
    assert.deepEqual(await ids(next), await ids(current), 'the method\'s own formula gives its order');

    // Comments count ten times a like: the order changes as the formula is typed.
    const formula = page.getByTestId('formula');
    await formula.fill('reaction_counts.comment * 10 + popularity');
    await page.getByTestId('compile-ok').filter({ hasText: 'reaction_counts.comment, popularity' }).waitFor();
    await page.waitForFunction(() => {
      const cur = [...document.querySelectorAll('[data-testid=current-order] li')].map((e) => e.getAttribute('data-activity-id'));
      const nxt = [...document.querySelectorAll('[data-testid=new-order] li')].map((e) => e.getAttribute('data-activity-id'));
      return nxt.length > 0 && nxt.join() !== cur.join();
    });
    const newScores = (await next.locator('.score').allTextContents()).map(Number);
    for (let i = 1; i < newScores.length; i++) assert.ok(newScores[i - 1] >= newScores[i]);
    assert.ok((await next.locator('.move.up').count()) > 0 && (await next.locator('.move.down').count()) > 0, 'moves are shown');
    const top = next.locator('li').first();
    assert.match((await top.textContent()) ?? '', /reaction_counts\.comment=[1-9]/, 'the top post has comments');
    await h.screenshot(page, 'dashboard-playground');

    await formula.fill('popularity * (2 +');
    const error = page.getByTestId('compile-error');
    await error.waitFor();
    assert.match((await error.textContent()) ?? '', /position 17/);
    const caret = (await error.locator('pre.caret').textContent())!.split('\n')[1];
    assert.equal(caret.indexOf('^'), 17);
    assert.deepEqual(h.log(page).errors, []);
  });

  it('tails a feed and shows a change the moment it is written', async () => {
    await go(`#/tail?app=${h.demo.app.appId}&feed=timeline:bob`);
    await page.getByTestId('tail-state').filter({ hasText: 'live' }).waitFor();
    await h.client().feed('user', 'alice').addActivity({ actor: 'SU:alice', verb: 'post', object: 'Fresh bread at the corner bakery', text: 'Fresh bread at the corner bakery' });
    await page.getByTestId('tail').locator('li', { hasText: 'Fresh bread at the corner bakery' }).waitFor();
    assert.ok(((await page.getByTestId('tail').textContent()) ?? '').includes('user:alice'), 'the origin feed is shown');
    await h.screenshot(page, 'dashboard-tail');
  });

  it('signs out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('input[name=api_key]').waitFor();
    assert.equal((await page.context().cookies()).find((c) => c.name === 'rivulet_dashboard'), undefined);
  });
});
