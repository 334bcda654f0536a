import { z } from 'zod';
import {
  DEFAULT_CONTENT,
  DEFAULT_LABELS,
  DEFAULT_SIGNALS,
  type LabelerSettings,
  type LabelRule,
  type SignalSettings,
} from '../personalization/signals/settings.js';
import { compileRankingMethod, RankingConfigError, type RankingMethod } from '../core/ranking/compile.js';
import { normaliseConfiguredTag } from '../personalization/signals/tags.js';
import { DEFAULT_PERSONALIZED, DEFAULT_SELECTORS, SELECTOR_TYPES, type PersonalizedSettings, type SelectorType } from '../personalization/serving/settings.js';

const DAY_US = 86_400_000_000;
const path = z.string().regex(/^[\w-]+(\.[\w-]+)*$/, 'must be a field name, dots for nested fields');

/**
 * `apps[].personalization`: the signal pipeline of one app (personalization.md §2, §4). Every
 * key is optional; the defaults are those of the design.
 */
const signalSchema = z.strictObject({
  labels: z
    .record(z.string().regex(/^[\w.:-]{1,64}$/, 'labels are 1-64 letters, digits, _ . : or -'), z.tuple([z.enum(['impression', 'engage', 'long_dwell', 'negative', 'stated']), z.number().min(-100).max(100)]))
    .optional(),
  retention_days: z.int().min(1).max(3650).optional(),
  interest_half_life_days: z.number().positive().max(3650).optional(),
  preference_half_life_days: z.number().positive().max(3650).optional(),
  interest_top_n: z.int().min(1).max(1000).optional(),
  content: z
    .strictObject({
      keywords: z.boolean().optional(),
      labeler: z
        .union([
          z.literal('none'),
          z.strictObject({
            type: z.literal('http'),
            url: z.url({ protocol: /^https?$/ }),
            timeout_ms: z.int().min(10).max(60_000).optional(),
            min_confidence: z.number().min(0).max(1).optional(),
            failure_threshold: z.int().min(1).max(1000).optional(),
            open_ms: z.int().min(100).max(3_600_000).optional(),
          }),
        ])
        .optional(),
      allowed_tags: z.array(z.string().min(1).max(80)).max(100_000).nullable().optional(),
      blocked_tags: z.array(z.string().min(1).max(80)).max(100_000).optional(),
      tag_fields: z.array(path).max(10).optional(),
      image_label_fields: z.array(path).max(10).optional(),
      text_fields: z.array(path).max(10).optional(),
      image_url_fields: z.array(path).max(10).optional(),
      max_tags: z.int().min(1).max(100).optional(),
    })
    .optional(),
});


function tagSet(tags: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const t of tags) {
    const n = normaliseConfiguredTag(t);
    if (n !== null) out.add(n);
  }
  return out;
}

/** Turns a validated `personalization` object into settings (defaults filled in). */
export function signalSettings(c: PersonalizationConfig | undefined): SignalSettings {
  if (c === undefined) return DEFAULT_SIGNALS;
  const labels = new Map<string, LabelRule>(DEFAULT_LABELS);
  for (const [label, [kind, weight]] of Object.entries(c.labels ?? {})) labels.set(label, { kind, weight });
  const content = c.content ?? {};
  let labeler: LabelerSettings = { type: 'none' };
  if (content.labeler !== undefined && content.labeler !== 'none') {
    const l = content.labeler;
    labeler = {
      type: 'http',
      url: l.url,
      timeoutMs: l.timeout_ms ?? 2000,
      minConfidence: l.min_confidence ?? 0.5,
      failureThreshold: l.failure_threshold ?? 5,
      openMs: l.open_ms ?? 30_000,
    };
  }
  return {
    labels,
    retentionUs: (c.retention_days ?? DEFAULT_SIGNALS.retentionUs / DAY_US) * DAY_US,
    interestHalfLifeUs: (c.interest_half_life_days ?? DEFAULT_SIGNALS.interestHalfLifeUs / DAY_US) * DAY_US,
    preferenceHalfLifeUs: (c.preference_half_life_days ?? DEFAULT_SIGNALS.preferenceHalfLifeUs / DAY_US) * DAY_US,
    interestTopN: c.interest_top_n ?? DEFAULT_SIGNALS.interestTopN,
    content: {
      keywords: content.keywords ?? DEFAULT_CONTENT.keywords,
      labeler,
      allowedTags: content.allowed_tags ? tagSet(content.allowed_tags) : null,
      blockedTags: tagSet(content.blocked_tags ?? []),
      tagFields: content.tag_fields ?? DEFAULT_CONTENT.tagFields,
      imageLabelFields: content.image_label_fields ?? DEFAULT_CONTENT.imageLabelFields,
      textFields: content.text_fields ?? DEFAULT_CONTENT.textFields,
      imageUrlFields: content.image_url_fields ?? DEFAULT_CONTENT.imageUrlFields,
      maxTags: content.max_tags ?? DEFAULT_CONTENT.maxTags,
    },
  };
}

const duration = z.union([z.number().positive().max(3650 * 86_400), z.string().regex(/^\d+(\.\d+)?(s|m|h|d)$/, 'a duration like "30m", "48h" or "7d", or seconds')]);

function seconds(d: number | string): number {
  if (typeof d === 'number') return d;
  const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[d.slice(-1) as 's' | 'm' | 'h' | 'd'];
  return Number(d.slice(0, -1)) * unit;
}

/** What a personalized read may override: the app's `personalization` keys and a feed group's `{"type": "personalized"}` ranking method. */
export const rankingOverridesSchema = z.strictObject({
  selectors: z
    .array(
      z.strictObject({
        type: z.enum(SELECTOR_TYPES as [SelectorType, ...SelectorType[]]),
        cutoff_window: duration.optional(),
        max: z.int().min(1).max(5000).optional(),
        min_popularity: z.int().min(0).max(1_000_000).optional(),
      }),
    )
    .max(10)
    .optional(),
  max_candidates: z.int().min(1).max(5000).optional(),
  objective: z.strictObject({ engage: z.number().min(-100).max(100).optional(), negative: z.number().min(-100).max(100).optional() }).optional(),
  score: z.string().min(1).max(1000).optional(),
  fallback: z.string().min(1).max(1000).optional(),
  guardrails: z
    .strictObject({
      author_cap: z.int().min(1).max(1000).optional(),
      author_decay: z.number().min(0).max(1).optional(),
      author_floor: z.number().min(0).max(1).optional(),
      fatigue: z.boolean().optional(),
      divisive_threshold: z.number().min(0).max(1).optional(),
      divisive_penalty: z.number().min(0).max(1).optional(),
      divisive_share_max: z.number().min(0).max(1).optional(),
      min_following_share: z.number().min(0).max(1).optional(),
      min_fresh: z.strictObject({ count: z.int().min(0).max(100), age: duration }).optional(),
      page_size: z.int().min(1).max(100).optional(),
      filter_seen_after_impressions: z.int().min(0).max(1_000_000).optional(),
      hide_own_activities: z.boolean().optional(),
      block_below: z.number().min(-1).max(0).optional(),
    })
    .optional(),
  exploration: z.strictObject({ slots_per_page: z.int().min(0).max(25).optional(), max_item_impressions: z.int().min(0).max(1_000_000).optional() }).optional(),
});

/** `apps[].personalization` keys of personalized reads and the learner (personalization.md §4). */
export const personalizedSchema = rankingOverridesSchema.extend({
  enabled: z.boolean().optional(),
  session_ttl: duration.optional(),
  following_feed: z.string().regex(/^\w{1,64}$/).optional(),
  author_feed: z.string().regex(/^\w{1,64}$/).optional(),
  learning: z
    .strictObject({
      head_dims: z.int().min(1 << 8).max(1 << 22).refine((d) => (d & (d - 1)) === 0, 'must be a power of two').optional(),
      learning_rate: z.number().positive().max(10).optional(),
      l2: z.number().min(0).max(1).optional(),
      join_window: duration.optional(),
      min_examples: z.int().min(0).max(100_000_000).optional(),
      snapshot_every_updates: z.int().min(1).max(100_000_000).optional(),
      snapshot_every: duration.optional(),
      keep_snapshots: z.int().min(1).max(100).optional(),
      item_horizon: duration.optional(),
    })
    .optional(),
});

export type RankingOverrides = z.infer<typeof rankingOverridesSchema>;

/** Applies overrides (validated) to personalized-read settings. */
export function applyOverrides(base: PersonalizedSettings, c: RankingOverrides): PersonalizedSettings {
  const g = c.guardrails ?? {};
  const b = base.guardrails;
  const ex = c.exploration ?? {};
  return {
    ...base,
    selectors:
      c.selectors?.map((x) => {
        const d = DEFAULT_SELECTORS.find((y) => y.type === x.type)!;
        return { type: x.type, windowS: x.cutoff_window !== undefined ? seconds(x.cutoff_window) : d.windowS, max: x.max ?? d.max, minPopularity: x.min_popularity ?? d.minPopularity };
      }) ?? base.selectors,
    maxCandidates: c.max_candidates ?? base.maxCandidates,
    objective: { engage: c.objective?.engage ?? base.objective.engage, negative: c.objective?.negative ?? base.objective.negative },
    score: c.score ?? base.score,
    fallback: c.fallback ?? base.fallback,
    guardrails: {
      fatigue: g.fatigue ?? b.fatigue,
      authorCap: g.author_cap ?? b.authorCap,
      authorDecay: g.author_decay ?? b.authorDecay,
      authorFloor: g.author_floor ?? b.authorFloor,
      divisiveThreshold: g.divisive_threshold ?? b.divisiveThreshold,
      divisivePenalty: g.divisive_penalty ?? b.divisivePenalty,
      divisiveShareMax: g.divisive_share_max ?? b.divisiveShareMax,
      minFollowingShare: g.min_following_share ?? b.minFollowingShare,
      minFresh: g.min_fresh !== undefined ? { count: g.min_fresh.count, ageHours: seconds(g.min_fresh.age) / 3600 } : b.minFresh,
      explorationSlots: ex.slots_per_page ?? b.explorationSlots,
      maxItemImpressions: ex.max_item_impressions ?? b.maxItemImpressions,
      pageSize: g.page_size ?? b.pageSize,
    },
    filterSeenAfter: g.filter_seen_after_impressions ?? base.filterSeenAfter,
    hideOwnActivities: g.hide_own_activities ?? base.hideOwnActivities,
    blockBelow: g.block_below ?? base.blockBelow,
  };
}

/** Turns a validated `personalization` object into personalized-read settings (defaults filled in). */
export function personalizedSettings(c: PersonalizationConfig | undefined): PersonalizedSettings {
  if (c === undefined) return DEFAULT_PERSONALIZED;
  const l = c.learning ?? {};
  const d = DEFAULT_PERSONALIZED;
  const dl = d.learning;
  return {
    ...applyOverrides(d, c),
    enabled: c.enabled ?? d.enabled,
    sessionTtlS: c.session_ttl !== undefined ? seconds(c.session_ttl) : d.sessionTtlS,
    followingFeed: c.following_feed ?? d.followingFeed,
    authorFeed: c.author_feed ?? d.authorFeed,
    learning: {
      head: { dims: l.head_dims ?? dl.head.dims, learningRate: l.learning_rate ?? dl.head.learningRate, l2: l.l2 ?? dl.head.l2 },
      joinWindowS: l.join_window !== undefined ? seconds(l.join_window) : dl.joinWindowS,
      minExamples: l.min_examples ?? dl.minExamples,
      snapshotEveryUpdates: l.snapshot_every_updates ?? dl.snapshotEveryUpdates,
      snapshotEveryS: l.snapshot_every !== undefined ? seconds(l.snapshot_every) : dl.snapshotEveryS,
      keepSnapshots: l.keep_snapshots ?? dl.keepSnapshots,
      itemHorizonS: l.item_horizon !== undefined ? seconds(l.item_horizon) : dl.itemHorizonS,
    },
  };
}

/** `apps[].personalization`: signals (§2) and personalized reads (§3, §4) of one app; every key optional. */
export const personalizationSchema = signalSchema.extend(personalizedSchema.shape);

export type PersonalizationConfig = z.infer<typeof personalizationSchema>;

/**
 * A feed group's ranking method of type `personalized` (`{"type": "personalized", …overrides}`):
 * the app's settings with the method's overrides, its score compiled over the model's variables.
 * Throws a {@link RankingConfigError} naming what is wrong.
 */
export function compilePersonalizedMethod(name: string, config: Record<string, unknown>, app: PersonalizedSettings): RankingMethod {
  const { type: _type, ...rest } = config;
  const parsed = rankingOverridesSchema.safeParse(rest);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new RankingConfigError(`ranking method ${JSON.stringify(name)}: ${detail}`, { method: name });
  }
  const settings = applyOverrides(app, parsed.data);
  return { ...compileRankingMethod(name, { score: settings.score }), personalized: settings };
}

/** Checks that the app's personalized score compiles (at config load, not on the first read). */
export function checkPersonalizedScore(p: PersonalizedSettings): void {
  compileRankingMethod('personalization.score', { score: p.score });
}
