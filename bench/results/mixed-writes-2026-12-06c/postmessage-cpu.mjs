import { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
const cpu = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
const w = new Worker(`const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => { });`, { eval: true });
const items = Array.from({ length: 2 }, (_, i) => ({ app: '', op: 'intents.commit', args: [ 'app1', [{ activity: { id: 'a'.repeat(36), foreignId: null, timeUs: 1234567890123, body: JSON.stringify({actor:'SU:123', verb:'post', object:'o', x: 'y'.repeat(200)}), to: [], home: 'user:123' }, intents: [{kind:'fanout.add', source:'user:123', ids:['a'.repeat(36)], mode:'inline'}] }] ], rows: 1, graph: false, content: true, seq: i }));
const N = 2000;
await new Promise((r) => setTimeout(r, 200));
for (const mode of ['none', 'small', 'big', 'json', 'none', 'small', 'big', 'json']) {
  const c0 = cpu();
  for (let i = 0; i < N; i++) {
    if (mode === 'small') w.postMessage(0);
    else if (mode === 'big') w.postMessage({ type: 'write', items });
    else if (mode === 'json') w.postMessage(JSON.stringify({ type: 'write', items }));
    await new Promise((r) => setTimeout(r, 1));
  }
  console.log(mode, ((cpu() - c0) / 1000 / N).toFixed(1), 'us per iteration');
}
process.exit(0);
