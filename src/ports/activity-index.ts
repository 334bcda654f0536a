/**
 * Finds activities by the caller's own ids: analytics events name content by `foreign_id`
 * (personalization.md §2.1), resolved to the newest activity of the app with that foreign id.
 */
export interface ActivityIndex {
  /**
   * For each foreign id, the id of the newest activity of `app` that has it; foreign ids of no
   * activity are absent. One round trip.
   * @example newestByForeignId('1', ['post:1']) // Map { 'post:1' => '5b0c…' }
   */
  newestByForeignId(app: string, foreignIds: readonly string[]): Promise<Map<string, string>>;
}
