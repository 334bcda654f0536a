import { after, before, describe, it } from 'node:test';
import { activityId } from '../../src/core/activities/activity-id.js';
import type { ActivityRecord } from '../../src/ports/activity-store.js';
import type { StoragePorts } from '../../src/ports/storage.js';

/** A backend under test: its storage ports over one fresh data set, and a way to release it. */
export interface PortsUnderTest {
  readonly ports: StoragePorts;
  close(): Promise<void>;
}

/** Makes a fresh backend for one contract suite. */
export type PortsFactory = () => Promise<PortsUnderTest>;

/**
 * Runs one port's contract: `cases` registers tests through `test(title, fn)`, each on its own
 * app id so that tests never see each other's data. `skip` names cases an adapter cannot run,
 * each with its reason (an explicit list; SQLite runs every case).
 */
export function portContract(
  port: string,
  adapter: string,
  makePorts: PortsFactory,
  skip: Readonly<Record<string, string>>,
  cases: (test: (title: string, fn: (ports: StoragePorts, app: string) => Promise<void>) => void) => void,
): void {
  describe(`${port} contract: ${adapter}`, () => {
    let backend: PortsUnderTest;
    let n = 0;
    before(async () => {
      backend = await makePorts();
    });
    after(async () => backend.close());
    const titles = new Set<string>();
    cases((title, fn) => {
      titles.add(title);
      if (skip[title]) it(title, { skip: skip[title] }, () => {});
      else it(title, async () => fn(backend.ports, `app${++n}`));
    });
    for (const title of Object.keys(skip)) {
      if (!titles.has(title)) throw new Error(`${port} contract: the skip list names an unknown case "${title}"`);
    }
  });
}

/** Activity ids at times 1..n seconds after a fixed instant (ascending time). */
export const T0 = 1_714_557_600_000_000;
export function idAt(s: number, tag = ''): string {
  return activityId(T0 + s * 1_000_000, `${tag}:${s}`);
}

/** A stored activity at second `s` in `home`. */
export function activityAt(s: number, home: string, fields: { foreignId?: string; actor?: string; verb?: string; tag?: string } = {}): ActivityRecord {
  const id = idAt(s, fields.tag ?? home);
  const body = JSON.stringify({ id, actor: fields.actor ?? 'SU:a', verb: fields.verb ?? 'post', object: `o:${s}`, foreign_id: fields.foreignId ?? '' });
  return { id, timeUs: T0 + s * 1_000_000, foreignId: fields.foreignId ?? '', to: [], body, home };
}
