import type { ChangeMarks, ChangesSince } from '../../ports/change-marks.js';

/** The marks of one process's data, shared by every {@link MemoryChangeMarks} over it. */
export class MemoryChangeLog {
  readonly marks: { readonly seq: number; readonly keys: readonly string[] }[] = [];
  last = 0;
  constructor(readonly keep = 4096) {}
}

/**
 * {@link ChangeMarks} in memory, for stores whose data lives in one process (and tests): a list
 * of marks keeping the newest `keep`.
 */
export class MemoryChangeMarks implements ChangeMarks {
  constructor(readonly log: MemoryChangeLog = new MemoryChangeLog()) {}

  async position(): Promise<number> {
    return this.log.last;
  }

  async changesSince(after: number): Promise<ChangesSince> {
    const marks = this.log.marks;
    const first = marks.findIndex((m) => m.seq > after);
    if (first === -1) return { position: Math.max(after, this.log.last), keys: [], complete: true };
    const keys: string[] = [];
    for (let i = first; i < marks.length; i++) keys.push(...marks[i].keys);
    return { position: this.log.last, keys, complete: marks[first].seq === after + 1 };
  }

  async record(keys: readonly string[]): Promise<number> {
    const seq = ++this.log.last;
    this.log.marks.push({ seq, keys: [...keys] });
    if (this.log.marks.length > this.log.keep) this.log.marks.splice(0, this.log.marks.length - this.log.keep);
    return seq;
  }
}
