import { changeKey } from '../ports/change-marks.js';
import type { EntryRef } from '../ports/collection-store.js';
import type { LatestQuery, ReactionPageQuery } from '../ports/reaction-store.js';
import type { StoragePorts } from '../ports/storage.js';
import type { FeedScan } from '../ports/timeline-store.js';
import type { Services } from './context.js';

type Call = (app: string, ...rest: any[]) => unknown;

/**
 * What a read depends on (change keys, see `changeKey`), given its app and arguments. The
 * function it may return is given what the read returned, for reads whose dependencies show only
 * in their answer.
 */
type ReadDeps = (app: string, args: any[], deps: Set<string>) => ((result: any) => void) | void;

function activities(app: string, ids: readonly string[], deps: Set<string>): void {
  for (const id of ids) deps.add(changeKey.activity(app, id));
}

/** Reactions of activities (their reactions' key and the activity's) or of reactions (children). */
function owners(app: string, ids: readonly string[], of: 'activity' | 'reaction', deps: Set<string>): void {
  for (const id of ids) {
    if (of === 'activity') {
      deps.add(changeKey.activity(app, id));
      deps.add(changeKey.reactions(app, id));
    } else {
      deps.add(changeKey.reaction(app, id));
    }
  }
}

/** A scan shows the feed's entries and, with bodies, the activities it returns. */
function scan(app: string, s: FeedScan, deps: Set<string>): ((entries: { id: string }[]) => void) | void {
  deps.add(changeKey.feed(app, s.feed));
  // The direct entries of a pull-served feed (scanned for its followers' merged reads).
  if (s.directOnly) deps.add(changeKey.pulled(app));
  if (!s.bodies) return;
  return (entries) => {
    for (const e of entries) deps.add(changeKey.activity(app, e.id));
  };
}

const users: ReadDeps = (app, [ids], deps) => {
  for (const id of ids as string[]) deps.add(changeKey.user(app, id));
};
const entries: ReadDeps = (app, [refs], deps) => {
  for (const r of refs as EntryRef[]) deps.add(changeKey.object(app, r.collection, r.id));
};
const reactions = {
  getReactions: (app, [ids], deps) => {
    for (const id of ids as string[]) deps.add(changeKey.reaction(app, id));
  },
  latestReactions: (app, [q], deps) => owners(app, (q as LatestQuery).owners, (q as LatestQuery).of, deps),
  reactionCounts: (app, [ids, of], deps) => owners(app, ids, of, deps),
  listReactions: (app, [q], deps) => {
    const l = (q as ReactionPageQuery).lookup;
    if (l.by === 'activity_id') owners(app, [l.value], 'activity', deps);
    else if (l.by === 'reaction_id') deps.add(changeKey.reaction(app, l.value));
    else deps.add(changeKey.app(app));
  },
} satisfies Record<string, ReadDeps>;

/** The reads of each storage port that reads record; any other call adds the app's key. */
const PORT_READS: { readonly [P in keyof StoragePorts]?: Readonly<Record<string, ReadDeps>> } = {
  timelines: {
    scan: (app, [s], deps) => scan(app, s as FeedScan, deps),
    scanMany: (app, [scans], deps) => {
      const after = (scans as FeedScan[]).map((s) => scan(app, s, deps));
      return (lists: { id: string }[][]) => after.forEach((f, i) => f?.(lists[i]));
    },
    readerState: (app, [feed], deps) => void deps.add(changeKey.feed(app, feed)),
  },
  follows: {
    // The pull-served feeds a reader follows: its follows, and which feeds are pull-served (a
    // feed becomes pull-served by a write to it or to its followers; its direct entries count).
    pullSources: (app, [reader], deps) => {
      deps.add(changeKey.feed(app, reader));
      deps.add(changeKey.pulled(app));
    },
  },
  groups: {
    readGroups: (app, [feed], deps) => void deps.add(changeKey.feed(app, feed)),
    groupCounts: (app, [feed], deps) => void deps.add(changeKey.feed(app, feed)),
  },
  activities: {
    getActivities: (app, [ids], deps) => activities(app, ids, deps),
  },
  reactions,
  users: { getUsers: users },
  collections: { getEntries: entries },
};

/**
 * `target` with each call recorded in `deps` as `reads` says; a call it does not name adds the
 * app's key (any change of the app makes the page stale).
 */
function recording<T extends object>(target: T, reads: Readonly<Record<string, ReadDeps>>, deps: Set<string>): T {
  const wrapped = new Map<string | symbol, unknown>();
  return new Proxy(target, {
    get(t, prop) {
      const known = wrapped.get(prop);
      if (known !== undefined) return known;
      const value = Reflect.get(t, prop, t) as unknown;
      if (typeof value !== 'function') return value;
      let out: unknown;
      if (typeof prop !== 'string') {
        out = value.bind(t);
      } else {
        const read = Object.hasOwn(reads, prop) ? reads[prop] : undefined;
        out = (app: string, ...rest: unknown[]) => {
          if (read === undefined) {
            deps.add(changeKey.app(app));
            return (value as Call).call(t, app, ...rest);
          }
          const after = read(app, rest, deps);
          const result = (value as Call).call(t, app, ...rest);
          return after ? (result as Promise<unknown>).then((r) => (after(r), r)) : result;
        };
      }
      wrapped.set(prop, out);
      return out;
    },
  });
}

/** Every call of `target` adds `key(app)`: a store whose reads all depend on one key. */
function keyed<T extends object>(target: T, key: (app: string) => string, deps: Set<string>): T {
  return new Proxy(target, {
    get(t, p) {
      const v = Reflect.get(t, p, t) as unknown;
      if (typeof v !== 'function') return v;
      return (app: string, ...rest: unknown[]) => {
        deps.add(key(app));
        return (v as Call).call(t, app, ...rest);
      };
    },
  });
}

/**
 * The services of one read with storage that notes, in `deps`, the change key of everything the
 * read reads (see `ReadCache`): the page's feed and the feeds merged into it, its activities,
 * their reactions, the users and objects they reference. A call it does not know adds the app's
 * key (any change of the app makes the page stale), and so does the personalization store
 * (ranked reads score with it).
 */
export function recordingServices(s: Services, deps: Set<string>): Services {
  return { ...s, ports: recordingPorts(s.ports, deps), signalStore: keyed(s.signalStore, changeKey.signals, deps), readDeps: deps };
}

/** {@link recordingServices}'s storage ports alone: each read notes its change keys in `deps`. */
export function recordingPorts<P extends Partial<StoragePorts>>(ports: P, deps: Set<string>): P {
  const portsOf = new Map<string | symbol, unknown>();
  return new Proxy(ports, {
    get(t, prop) {
      let p = portsOf.get(prop);
      if (p === undefined) {
        const port = Reflect.get(t, prop, t) as unknown;
        if (typeof port !== 'object' || port === null) return port;
        p = recording(port, PORT_READS[prop as keyof StoragePorts] ?? {}, deps);
        portsOf.set(prop, p);
      }
      return p;
    },
  });
}
