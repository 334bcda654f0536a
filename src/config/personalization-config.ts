import { z } from 'zod';
import {
  DEFAULT_CONTENT,
  DEFAULT_LABELS,
  DEFAULT_SIGNALS,
  type LabelerSettings,
  type LabelRule,
  type SignalSettings,
} from '../personalization/signals/settings.js';
import { normaliseConfiguredTag } from '../personalization/signals/tags.js';

const DAY_US = 86_400_000_000;
const path = z.string().regex(/^[\w-]+(\.[\w-]+)*$/, 'must be a field name, dots for nested fields');

/**
 * `apps[].personalization`: the signal pipeline of one app (personalization.md §2, §4). Every
 * key is optional; the defaults are those of the design.
 */
export const personalizationSchema = z.strictObject({
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

export type PersonalizationConfig = z.infer<typeof personalizationSchema>;

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
