/**
 * Labels the subject of images (personalization.md §2.4): a snowboarding photo tells us the post
 * is about snowboarding. Adapters: `none` (the default: no labels), `http` (a labeling service the
 * operator runs). Labels become `img:` content tags; those below the app's confidence threshold
 * are dropped by the caller.
 */
export interface ImageLabel {
  readonly label: string;
  /** 0..1. */
  readonly confidence: number;
}

export interface ImageLabeler {
  /**
   * Labels for the images at `urls` (all of one activity), with `hints` (the activity's other
   * tags, e.g. its hashtags) that a labeler may use to disambiguate. Throws when the labeler is
   * unavailable (timeout, circuit open, bad answer): the content job is then tried again later.
   *
   * @example await labeler.labelImages(['https://img.example/1.jpg'], ['#snow']) // [{ label: 'snowboard', confidence: 0.93 }]
   */
  labelImages(urls: readonly string[], hints: readonly string[]): Promise<ImageLabel[]>;
}
