// The demo social app (examples/social: react-activity-feed and getstream against Rivulet) in a
// real browser: sign in, read the seeded timeline, post and see the post arrive live in another
// person's browser, like and comment and see the author notified live, post a photo, a file and a
// link with its preview, follow someone.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { browserSetupOrSkip, startDemoHarness, type DemoHarness } from '../support/browser.js';

const setup = await browserSetupOrSkip();

/** The post in `page`'s timeline whose text contains `text`. */
function post(page: Page, text: string) {
  return page.locator('.post').filter({ hasText: text });
}

/** A page on loopback with Open Graph tags, for the link preview. */
const ARTICLE = `<!doctype html><html><head><title>x</title>
<meta property="og:title" content="Rivers of the North">
<meta property="og:description" content="A long read about rivers">
</head><body>article</body></html>`;

describe('the demo social app in a browser', { skip: setup.skip }, () => {
  let h: DemoHarness;
  let site: Server | undefined;
  let siteUrl = '';
  before(async () => {
    if (setup.skip !== undefined) return;
    site = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(ARTICLE));
    await new Promise<void>((r) => site!.listen(0, '127.0.0.1', r));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    // Link previews fetch only public addresses unless allowed: the article is on loopback.
    h = await startDemoHarness(setup, { extraConfig: { og: { allow: ['127.0.0.1/32'] } } });
  });
  after(async () => {
    await h?.close();
    site?.closeAllConnections();
    site?.close();
  });

  it('lists the seeded people and signs in as the one picked', async () => {
    const page = await h.newPage();
    await page.getByTestId('sign-in-carol').waitFor();
    assert.equal(await page.locator('.people-grid li').count(), 8);
    await h.screenshot(page, 'demo-sign-in');
    await page.getByTestId('sign-in-carol').click();
    assert.equal(await page.getByTestId('signed-in-as').textContent(), 'Carol Nguyen');
    // Carol's timeline: her own posts and those of the people she follows, newest first, enriched
    // with the authors' names from their user objects.
    await post(page, 'Commission finished').waitFor();
    const names = await page.locator('.post .raf-activity__author strong, .post .raf-user-bar__username').allTextContents();
    assert.ok(names.includes('Carol Nguyen') && names.includes('Frank Adeyemi'), `authors shown: ${names.join(', ')}`);
    assert.deepEqual(h.log(page).errors, []);
  });

  it('shows a post in a follower\'s open browser live, and in the author\'s own timeline', async () => {
    const alice = await h.pageAs('alice');
    const bob = await h.pageAs('bob'); // bob's timeline follows alice
    await h.realtime(bob, 'timeline:bob');
    await post(bob, 'Rye and honey loaf').waitFor();

    const text = 'Cherry clafoutis for the whole street tonight, bring a spoon';
    await alice.locator('.compose textarea').fill(text);
    await alice.locator('.compose button[type=submit]').click();
    await post(alice, text).waitFor();

    // Bob did not reload: the realtime message over Faye shows the new-activity notice.
    const notice = bob.locator('.raf-new-activities-notification');
    await notice.waitFor();
    assert.match((await notice.textContent()) ?? '', /1 new activit/);
    await h.screenshot(bob, 'demo-live-notice');
    await notice.click();
    await post(bob, text).waitFor();
    assert.equal(await bob.locator('.post').first().textContent().then((t) => t?.includes(text)), true, 'the new post is at the top');

    const stored = (await h.client().feed('user', 'alice').get({ limit: 1 })).results as Record<string, unknown>[];
    assert.equal(stored[0].text, text);
    assert.deepEqual(h.log(alice).errors, []);
    assert.deepEqual(h.log(bob).errors, []);
  });

  it('likes and comments, and the author sees the notification arrive live', async () => {
    const grace = await h.pageAs('grace');
    const alice = await h.pageAs('alice'); // follows grace; has not liked this post yet
    await h.realtime(grace, 'notification:grace');
    const target = post(alice, 'Board game night');
    await target.waitFor();

    const likes = target.locator('.raf-reaction-toggle-icon').first();
    assert.match((await likes.textContent()) ?? '', /3 likes/);
    // On load the bell reads the unseen count and, through its dropdown, marks everything seen
    // (the UI kit's default); from then on it adds what arrives over realtime. Both reads race, so
    // the count it settles at is taken once both are in.
    await h.response(grace, /^200 GET .*\/feed\/notification\/grace\/.*limit=0/);
    await h.response(grace, /^200 GET .*\/feed\/notification\/grace\/.*mark_seen=true/);
    await grace.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
    const badge = grace.locator('.raf-icon-badge__badge');
    const settled = (await badge.count()) === 0 ? 0 : Number(await badge.textContent());

    await likes.click();
    await target.locator('.raf-reaction-toggle-icon').first().filter({ hasText: '4 likes' }).waitFor();

    const comment = 'See you at the rematch next Friday';
    await target.locator('.raf-comment-field textarea').fill(comment);
    await target.locator('.raf-comment-field button[type=submit]').click();
    await target.locator('.raf-comment-item', { hasText: comment }).waitFor();

    // Grace's bell counts the like and the comment as they arrive over realtime, without a reload.
    await badge.filter({ hasText: String(settled + 2) }).waitFor();
    await grace.locator('.raf-icon-badge').click();
    await grace.locator('.raf-notification', { hasText: 'Alice Moreau' }).filter({ hasText: 'liked your post' }).waitFor();
    await grace.locator('.raf-notification', { hasText: 'Alice Moreau' }).filter({ hasText: 'commented on your post' }).waitFor();
    await h.screenshot(grace, 'demo-notifications');

    // The reactions are stored as Rivulet serves them to any client.
    const client = h.client();
    const posts = (await client.feed('user', 'grace').get({ limit: 25 })).results as { id: string; text?: string }[];
    const activity = posts.find((a) => a.text?.startsWith('Board game night'))!;
    const reactions = await client.reactions.filter({ activity_id: activity.id, kind: 'comment' });
    assert.ok(reactions.results.some((r) => r.data.text === comment && r.user_id === 'alice'));
    const liked = await client.reactions.filter({ activity_id: activity.id, kind: 'like' });
    assert.ok(liked.results.some((r) => r.user_id === 'alice'));
    assert.deepEqual(h.log(alice).errors, []);
    assert.deepEqual(h.log(grace).errors, []);
  });

  it('posts a photo: uploaded to Rivulet, shown in the post and in a follower\'s timeline', async () => {
    const erin = await h.pageAs('erin');
    // A drawn picture of tomatoes on a leafy background, as a PNG.
    const tomatoes = [
      [90, 110, 48],
      [190, 95, 56],
      [290, 120, 44],
      [150, 190, 40],
      [250, 200, 50],
    ]
      .map(([x, y, r]) => `<circle cx="${x}" cy="${y}" r="${r}" fill="#d62828"/><circle cx="${x - r / 3}" cy="${y - r / 3}" r="${r / 5}" fill="#f28482"/><path d="M${x - 10} ${y - r + 4} l10 -14 l10 14 z" fill="#2d6a4f"/>`)
      .join('');
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="260"><rect width="400" height="260" fill="#95d5b2"/>${tomatoes}</svg>`;
    const photo = await sharp(Buffer.from(svg)).png().toBuffer();
    await erin.setInputFiles('.compose input.rfu-image-input', { name: 'tomatoes.png', mimeType: 'image/png', buffer: photo });
    // The preview shows once the upload finished (a failed one shows a retry button instead).
    await erin.waitForFunction(() => document.querySelector('.compose .rfu-image-previewer img') !== null && !document.querySelector('.rfu-image-previewer__retry'));
    await erin.locator('.compose textarea').fill('This year\'s first tomatoes, in a picture');
    await erin.locator('.compose button[type=submit]').click();
    const mine = post(erin, 'first tomatoes, in a picture');
    await mine.waitFor();
    // The image is served by Rivulet and decodes in the browser.
    await erin.waitForFunction(() =>
      [...document.querySelectorAll('.post img.raf-gallery__image, .post .raf-gallery img')].some(
        (i) => (i as HTMLImageElement).src.includes('/api/v1.0/files/') || ((i as HTMLImageElement).src.includes('/images/') && (i as HTMLImageElement).naturalWidth > 0),
      ),
    );
    const alice = await h.pageAs('alice'); // alice follows erin
    await post(alice, 'first tomatoes, in a picture').locator('img').first().waitFor();
    const [stored] = (await h.client().feed('user', 'erin').get({ limit: 1 })).results as { attachments?: { images?: string[] } }[];
    assert.equal(stored.attachments?.images?.length, 1);
    const res = await fetch(stored.attachments!.images![0]);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^image\//);
    await h.screenshot(alice, 'demo-photo');
    assert.deepEqual(h.log(erin).errors, []);
  });

  it('attaches a file and previews a pasted link; the post shows both, as stored', async () => {
    const frank = await h.pageAs('frank');
    await frank.setInputFiles('.compose input.rfu-file-input', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('field notes') });
    // The file shows once its upload finished (a failed one is marked failed instead).
    await frank.waitForFunction(() => document.querySelector('.compose .rfu-file-previewer') !== null && !document.querySelector('.rfu-file-previewer__failed'));
    await frank.locator('.compose textarea').fill(`Field notes from the delta, and a good read ${siteUrl}/article `);
    await frank.locator('.compose .raf-card').waitFor({ timeout: 15_000 });
    assert.match(await frank.locator('.compose').innerText(), /Rivers of the North/);
    await frank.locator('.compose button[type=submit]').click();
    const mine = post(frank, 'Field notes from the delta');
    await mine.waitFor();
    await mine.locator('.raf-card', { hasText: 'Rivers of the North' }).waitFor();
    await mine.getByText('notes.txt').waitFor();
    assert.deepEqual(h.log(frank).errors, []);

    const [stored] = (await h.client().feed('user', 'frank').get({ limit: 1 })).results as {
      attachments?: { og?: { title?: string }; files?: { name: string; url: string }[] };
    }[];
    assert.equal(stored.attachments?.og?.title, 'Rivers of the North');
    assert.equal(stored.attachments?.files?.[0].name, 'notes.txt');
    const file = await fetch(stored.attachments!.files![0].url);
    assert.equal(await file.text(), 'field notes');
  });

  it('follows someone from the People list and their posts join the timeline', async () => {
    const hugo = await h.pageAs('hugo'); // hugo follows carol and dave, not erin
    const erin = hugo.getByTestId('person-erin');
    await erin.locator('.raf-follow-button', { hasText: 'Follow' }).waitFor();
    assert.equal(await post(hugo, 'phacelia').count(), 0);
    await erin.locator('.raf-follow-button').click();
    await erin.locator('.raf-follow-button', { hasText: 'Following' }).waitFor();
    await post(hugo, 'phacelia').waitFor();
    const following = await h.client().feed('timeline', 'hugo').following({ limit: 100 });
    assert.ok(following.results.some((f) => f.target_id === 'user:erin'));
    await h.screenshot(hugo, 'demo-timeline');
  });
});
