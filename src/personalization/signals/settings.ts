import type { EventKind } from '../../ports/event-log.js';

/** A label's meaning: its event kind and weight (personalization.md §2.2). */
export interface LabelRule {
  readonly kind: EventKind;
  readonly weight: number;
}

/** Per-app settings of the signal pipeline, validated once at config load. */
export interface SignalSettings {
  /** Label → kind and weight; unknown labels are `engage` with weight 1 (times the event's score). */
  readonly labels: ReadonlyMap<string, LabelRule>;
  /** Events received longer ago than this are deleted (µs). */
  readonly retentionUs: number;
  /** Half-life of computed interests and author affinity (µs; Stream v3: 30 days). */
  readonly interestHalfLifeUs: number;
  /** Half-life of explicit show more / show less (µs). */
  readonly preferenceHalfLifeUs: number;
  /** How many of a user's strongest interests `interest_score` matches (Stream v3: 5). */
  readonly interestTopN: number;
  readonly content: ContentSettings;
}

export interface ContentSettings {
  /** Extract keywords and named entities from the activity's text. */
  readonly keywords: boolean;
  /** Which image labeler runs on `image` / `images` URLs: `none` (default) or `http`. */
  readonly labeler: LabelerSettings;
  /** When set, only these tags are kept (normalised, namespaced form). */
  readonly allowedTags: ReadonlySet<string> | null;
  /** Tags never kept (normalised, namespaced form). */
  readonly blockedTags: ReadonlySet<string>;
  /** Dotted paths of custom fields holding caller tags (default `interest_tags`). */
  readonly tagFields: readonly string[];
  /** Dotted paths of custom fields holding caller image labels (default `image_labels`). */
  readonly imageLabelFields: readonly string[];
  /** Dotted paths of the text fields keywords are read from. */
  readonly textFields: readonly string[];
  /** Dotted paths of image URL fields sent to the labeler. */
  readonly imageUrlFields: readonly string[];
  /** Most tags kept per activity. */
  readonly maxTags: number;
}

export type LabelerSettings =
  | { readonly type: 'none' }
  | {
      readonly type: 'http';
      readonly url: string;
      readonly timeoutMs: number;
      /** Labels below this confidence are dropped. */
      readonly minConfidence: number;
      /** Consecutive failures that open the circuit. */
      readonly failureThreshold: number;
      /** How long the circuit stays open before one trial call (ms). */
      readonly openMs: number;
    };

const DAY = 86_400_000_000;

/** The default label map of personalization.md §2.2. */
export const DEFAULT_LABELS: ReadonlyMap<string, LabelRule> = new Map<string, LabelRule>([
  ['impression', { kind: 'impression', weight: 1 }],
  ['click', { kind: 'engage', weight: 1 }],
  ['view', { kind: 'engage', weight: 1 }],
  ['open', { kind: 'engage', weight: 1 }],
  ['like', { kind: 'engage', weight: 2 }],
  ['comment', { kind: 'engage', weight: 3 }],
  ['share', { kind: 'engage', weight: 4 }],
  ['retweet', { kind: 'engage', weight: 4 }],
  ['bookmark', { kind: 'engage', weight: 3 }],
  ['save', { kind: 'engage', weight: 3 }],
  ['follow', { kind: 'engage', weight: 3 }],
  ['dwell', { kind: 'long_dwell', weight: 1 }],
  ['hide', { kind: 'negative', weight: 1 }],
  ['show_less', { kind: 'negative', weight: 1 }],
  ['not_interested', { kind: 'negative', weight: 1 }],
  ['mute', { kind: 'negative', weight: 1 }],
  ['block', { kind: 'negative', weight: 1 }],
  ['report', { kind: 'negative', weight: 1 }],
  ['skip', { kind: 'negative', weight: 1 }],
  ['show_more', { kind: 'stated', weight: 1 }],
  ['satisfied', { kind: 'stated', weight: 1 }],
  ['unsatisfied', { kind: 'stated', weight: -1 }],
]);

export const DEFAULT_CONTENT: ContentSettings = {
  keywords: true,
  labeler: { type: 'none' },
  allowedTags: null,
  blockedTags: new Set(),
  tagFields: ['interest_tags'],
  imageLabelFields: ['image_labels'],
  textFields: ['text', 'message', 'title', 'description'],
  imageUrlFields: ['image', 'images', 'attachments.images'],
  maxTags: 20,
};

export const DEFAULT_SIGNALS: SignalSettings = {
  labels: DEFAULT_LABELS,
  retentionUs: 90 * DAY,
  interestHalfLifeUs: 30 * DAY,
  preferenceHalfLifeUs: 60 * DAY,
  interestTopN: 5,
  content: DEFAULT_CONTENT,
};
