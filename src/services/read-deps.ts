import { changeKey } from '../ports/change-marks.js';
import type { EntryRef } from '../ports/collection-store.js';
import type { LatestQuery, ReactionPageQuery } from '../ports/reaction-store.js';
import type { Store } from '../ports/store.js';
import type { Services } from './context.js';

type Call = (app: string, ...rest: any[]) => unknown;

/**
 * What each store read depends on (change keys, see `changeKey`); `result` is what the read
 * returned, for reads whose dependencies show only in their answer.
 */
const READS: Record<string, (app: string, args: any[], deps: Set<string>) => ((result: any) => void) | void> = {
  readTimelinePage: (app, [feed], deps) => timeline(app, feed, deps),
  readTimeline: (app, [feed], deps) => timeline(app, feed, deps),
  readFeed: (app, [feed], deps) => timeline(app, feed, deps),
  readGroups: (app, [feed], deps) => void deps.add(changeKey.feed(app, feed)),
  groupCounts: (app, [feed], deps) => void deps.add(changeKey.feed(app, feed)),
  getActivities: (app, [ids], deps) => {
    for (const id of ids as string[]) deps.add(changeKey.activity(app, id));
  },
  getUsers: (app, [ids], deps) => {
    for (const id of ids as string[]) deps.add(changeKey.user(app, id));
  },
  getEntries: (app, [refs], deps) => {
    for (const r of refs as EntryRef[]) deps.add(changeKey.object(app, r.collection, r.id));
  },
  getReactions: (app, [ids], deps) => {
    for (const id of ids as string[]) deps.add(changeKey.reaction(app, id));
  },
  latestReactions: (app, [q], deps) => owners(app, (q as LatestQuery).owners, (q as LatestQuery).of, deps),
  reactionCounts: (app, [ids, of], deps) => owners(app, ids, of, deps),
  listReactions: (app, [q], deps) => {
    const l = (q as ReactionPageQuery).lookup;
    if (l.by === 'activity_id') deps.add(changeKey.activity(app, l.value));
    else if (l.by === 'reaction_id') deps.add(changeKey.reaction(app, l.value));
    else deps.add(changeKey.app(app));
  },
};

/** Store calls that read nothing a page shows, or are not reads. */
const PASS = new Set(['changeMark', 'changes', 'ready', 'migrations', 'close', 'checkIntegrity', 'commit']);

function timeline(app: string, feed: string, deps: Set<string>): (result: { id: string }[]) => void {
  deps.add(changeKey.feed(app, feed));
  // A feed's reads merge in the direct entries of the pull-served feeds it follows.
  deps.add(changeKey.pulled(app));
  return (entries) => {
    for (const e of entries) deps.add(changeKey.activity(app, e.id));
  };
}

function owners(app: string, ids: readonly string[], of: 'activity' | 'reaction', deps: Set<string>): void {
  for (const id of ids) deps.add(of === 'activity' ? changeKey.activity(app, id) : changeKey.reaction(app, id));
}

/**
 * The services of one read with a store that notes, in `deps`, the change key of everything the
 * read reads (see `ReadCache`): the page's feed, its activities, their reactions, the users and
 * objects they reference. A store call it does not know adds the app's key (any change of the app
 * makes the page stale), and so does the personalization store (ranked reads score with it).
 */
export function recordingServices(s: Services, deps: Set<string>): Services {
  const store = s.store;
  const wrapped = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof prop !== 'string' || PASS.has(prop)) return typeof value === 'function' ? value.bind(target) : value;
      if (prop === 'signals') {
        return new Proxy(value as object, {
          get(t, p) {
            const v = Reflect.get(t, p, t) as unknown;
            if (typeof v !== 'function') return v;
            return (app: string, ...rest: unknown[]) => {
              deps.add(changeKey.signals(app));
              return (v as Call).call(t, app, ...rest);
            };
          },
        });
      }
      if (typeof value !== 'function') return value;
      const read = READS[prop];
      return (app: string, ...rest: unknown[]) => {
        if (read === undefined) {
          deps.add(changeKey.app(app));
          return (value as Call).call(target, app, ...rest);
        }
        const after = read(app, rest, deps);
        const out = (value as Call).call(target, app, ...rest);
        return after ? (out as Promise<unknown>).then((r) => (after(r), r)) : out;
      };
    },
  }) as Store;
  return { ...s, store: wrapped, readDeps: deps };
}
