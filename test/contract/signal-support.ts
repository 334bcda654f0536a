import { after, before, it } from 'node:test';
import type { NewEvent } from '../../src/ports/event-log.js';
import type { IntentQueue } from '../../src/ports/intent-queue.js';
import type { Store } from '../../src/ports/store.js';

/** What the personalization contract suites need of a backend: its signal stores, and steps to store activities. */
export type SignalBackend = Pick<Store, 'signals' | 'close'> & { readonly ports: { readonly intents: Pick<IntentQueue, 'commit'> } };

/** Opens one backend for a suite and gives each test its own app id; `skip` entries state a reason. */
export function suite(makeStore: () => Promise<SignalBackend>, skip: Record<string, string>) {
  let store: SignalBackend;
  let n = 0;
  before(async () => {
    store = await makeStore();
  });
  after(async () => store.close());
  return {
    store: () => store,
    app: () => `sig${n}`,
    test(title: string, fn: () => Promise<void>) {
      if (skip[title]) it(title, { skip: skip[title] }, fn);
      else
        it(title, async () => {
          n++;
          await fn();
        });
    },
  };
}

let ids = 0;
/** A plain engagement event. */
export function event(user: string, label: string, extra: Partial<NewEvent> = {}): NewEvent {
  ids++;
  return {
    id: `e${ids}`,
    source: 'analytics',
    user,
    kind: 'engage',
    label,
    activity: 'a1',
    foreignId: null,
    weight: 1,
    feedId: null,
    location: null,
    position: null,
    features: [],
    trackedUs: 1_000_000,
    receivedUs: 1_000_000,
    ...extra,
  };
}
