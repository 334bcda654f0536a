/**
 * Every Redis key Rivulet uses, built in one place. A key is
 *
 *     <prefix>{<app>|<kind>|<id>}:<what>
 *
 * and Redis Cluster hashes only the part inside the braces, so all keys of one feed (kind `f`),
 * one activity (`a`), one user (`u`), one collection entry (`o`) or one foreign id (`x`) sit in one hash slot by construction:
 * a Lua script that declares the keys of one owner never spans two slots. Keys of the app itself
 * (`{<app>}`: the audit log, moderation flags, the file index, the event log and profiles) sit in
 * the app's slot; the few keys shared by all apps (the content job queue, realtime control) in
 * `{<prefix>|…}` slots of their own.
 *
 * App ids are `[\w-]{1,64}` (no `|`, `{` or `}`); owner ids are taken as they are. An owner id
 * holding `}` shortens the hashed part, but every key of that owner is shortened the same way, so
 * they still share a slot, and since `<what>` never holds `}` two owners never share a key.
 *
 * @example
 *   const k = new Keys('rv:');
 *   k.feed('1', 'user:42', 'tl')   // 'rv:{1|f|user:42}:tl'
 *   k.app('1', 'audit:seq')        // 'rv:{1}:audit:seq'
 */
export class Keys {
  constructor(readonly prefix: string) {
    if (/[{}]/.test(prefix)) throw new Error(`a key prefix cannot hold { or }: ${prefix}`);
  }

  /** A key of one feed (`slug:uid`). */
  feed(app: string, feed: string, what: string): string {
    return `${this.prefix}{${app}|f|${feed}}:${what}`;
  }

  /** What every key of the app's feeds starts with: a feed's key is this, the feed, `}:` and what (as {@link feed} builds it). */
  feedHead(app: string): string {
    return `${this.prefix}{${app}|f|`;
  }

  /** A key of one activity. */
  activity(app: string, id: string, what: string): string {
    return `${this.prefix}{${app}|a|${id}}:${what}`;
  }

  /** A key of one user (profiles of the user, hides, reactions by the user…). */
  user(app: string, user: string, what: string): string {
    return `${this.prefix}{${app}|u|${user}}:${what}`;
  }

  /** A key of one collection entry (`<collection>:<id>`, its foreign id). */
  object(app: string, collection: string, id: string, what: string): string {
    return `${this.prefix}{${app}|o|${collection}:${id}}:${what}`;
  }

  /** A key of one foreign id (the newest activity that has it). */
  foreign(app: string, foreignId: string, what: string): string {
    return `${this.prefix}{${app}|x|${foreignId}}:${what}`;
  }

  /** A key of the app as a whole. */
  app(app: string, what: string): string {
    return `${this.prefix}{${app}}:${what}`;
  }

  /** A rate-limit counter (`key` names the app and endpoint), one slot per key. */
  rate(key: string, windowStartMs: number): string {
    return `${this.prefix}{rl|${key}}:${windowStartMs}`;
  }

  /** A key shared by every app (in a slot of its own per `area`). */
  shared(area: string, what: string): string {
    return `${this.prefix}{${this.prefix}|${area}}:${what}`;
  }
}
