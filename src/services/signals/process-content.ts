import { parseBody } from '../../core/activities/activity.js';
import { imageUrlsOf, rawTagsOf, textOf } from '../../personalization/signals/content.js';
import { extractTermsOffThread } from '../../personalization/signals/keyword-thread.js';
import { buildTags, type RawTag } from '../../personalization/signals/tags.js';
import type { ContentJob, ContentTag } from '../../ports/content-tag-store.js';
import type { ImageLabeler } from '../../ports/image-labeler.js';
import type { SignalWrites } from '../../ports/signal-writes.js';
import type { Uses } from '../context.js';
import { authorKey } from '../../personalization/signals/interest.js';
import type { TaggedItem } from '../personalization/runtime.js';
import { settingsOf } from './signal-context.js';

/** What the content worker uses. */
export type ContentJobDeps = Uses<'activities', 'clock' | 'personalization' | 'signalStore' | 'signals'>;

/** Content jobs taken per round. */
export const CONTENT_BATCH = 200;
/** A job whose labeler call keeps failing is finished without image labels after this many tries. */
export const MAX_CONTENT_ATTEMPTS = 5;
/** First retry delay of a failed labeler call (µs); doubles with each attempt. */
const RETRY_BASE_US = 10_000_000;

/**
 * One round of `content.process` jobs (personalization.md §2.4): for each queued activity, builds
 * its tag set — caller tags and image labels, hashtags, @mentions, keywords and entities, and the
 * labeler's image labels above the app's confidence threshold — and stores it, completing the job
 * in the same commit (one commit per app). A deleted activity loses its tags. When the labeler is
 * unavailable the other tags are stored now and the job is tried again later (backing off), up to
 * {@link MAX_CONTENT_ATTEMPTS} times. Returns the number of jobs handled.
 */
export async function processContentJobs(s: ContentJobDeps, labelerOf: (appId: string) => ImageLabeler, limit = CONTENT_BATCH): Promise<number> {
  const nowUs = s.clock.now();
  const jobs = await s.signalStore.pendingContentJobs(nowUs, limit);
  if (jobs.length === 0) return 0;
  const byApp = new Map<string, ContentJob[]>();
  for (const j of jobs) {
    const list = byApp.get(j.app);
    if (list) list.push(j);
    else byApp.set(j.app, [j]);
  }
  for (const [appId, list] of byApp) {
    const settings = settingsOf(s, appId).content;
    const labeler = labelerOf(appId);
    const ids = [...new Set(list.map((j) => j.activityId))];
    const acts = await s.ports.activities.getActivities(appId, ids);
    const writes: { tags: { activityId: string; tags: ContentTag[] }[]; contentDone: number[]; contentRetry: { jobId: number; notBeforeUs: number }[] } = {
      tags: [],
      contentDone: [],
      contentRetry: [],
    };
    const outcome = new Map<string, 'done' | 'retry'>();
    const tagged: TaggedItem[] = [];
    // The keywords of the round's texts, extracted together on the keyword thread, off the event loop.
    const bodies = new Map<string, Record<string, unknown>>();
    for (const [id, act] of acts) bodies.set(id, parseBody(act.body));
    const texts = new Map<string, string>();
    if (settings.keywords) {
      for (const [id, obj] of bodies) {
        const text = textOf(obj, settings);
        if (text !== '') texts.set(id, text);
      }
    }
    const extracted = await extractTermsOffThread([...texts.values()]);
    const termsOf = new Map([...texts.keys()].map((id, i) => [id, extracted[i]]));
    for (const id of ids) {
      const obj = bodies.get(id);
      if (obj === undefined) {
        writes.tags.push({ activityId: id, tags: [] });
        outcome.set(id, 'done');
        continue;
      }
      const act = acts.get(id)!;
      const raw: RawTag[] = rawTagsOf(obj, settings, termsOf.get(id));
      const urls = settings.labeler.type === 'http' ? imageUrlsOf(obj, settings) : [];
      let labelerFailed = false;
      if (urls.length > 0 && settings.labeler.type === 'http') {
        const min = settings.labeler.minConfidence;
        try {
          const hints = buildTags(raw, settings).map((t) => t.tag);
          for (const l of await labeler.labelImages(urls, hints)) if (l.confidence >= min) raw.push({ source: 'image', term: l.label, factor: l.confidence });
        } catch {
          labelerFailed = true;
        }
      }
      const tags = buildTags(raw, settings);
      writes.tags.push({ activityId: id, tags });
      tagged.push({ id, author: authorKey(obj.actor), timeUs: act.timeUs, tags });
      const attempts = Math.max(...list.filter((j) => j.activityId === id).map((j) => j.attempts));
      outcome.set(id, labelerFailed && attempts + 1 < MAX_CONTENT_ATTEMPTS ? 'retry' : 'done');
    }
    for (const j of list) {
      if (outcome.get(j.activityId) === 'retry') writes.contentRetry.push({ jobId: j.jobId, notBeforeUs: nowUs + RETRY_BASE_US * 2 ** j.attempts });
      else writes.contentDone.push(j.jobId);
    }
    const signals: SignalWrites = writes;
    await s.signalStore.recordSignals(appId, signals);
    // The learner's item index takes new activities in here: the interest and explore selectors find them before anyone engaged.
    await s.personalization?.noteTagged(appId, tagged);
  }
  return jobs.length;
}
