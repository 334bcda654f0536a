import { parentPort } from 'node:worker_threads';
import { extractTerms } from './keywords.js';
import type { FromKeywords, ToKeywords } from './keyword-thread.js';

/**
 * The keyword thread (see keyword-thread.ts): extracts the terms of each text it is sent, in
 * order, and sends them back under the request's id.
 */
const port = parentPort!;

port.on('message', (m: ToKeywords) => {
  let reply: FromKeywords;
  try {
    reply = { id: m.id, terms: m.texts.map(extractTerms) };
  } catch (err) {
    reply = { id: m.id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
