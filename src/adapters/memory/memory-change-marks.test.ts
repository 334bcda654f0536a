import { changeMarksContract } from '../../../test/contract/change-marks.contract.js';
import { MemoryChangeLog, MemoryChangeMarks } from './memory-change-marks.js';

changeMarksContract('memory', async () => {
  const log = new MemoryChangeLog(64);
  return { a: new MemoryChangeMarks(log), b: new MemoryChangeMarks(log), keep: 64, close: async () => {} };
});
