// The worker thread behind WorkerQueryStore (worker-queries.ts): SqliteQueryStore on a read-only connection
// of its own (WAL lets it read while the sensor writes). One query at a time; each answer names its query.
import { parentPort, workerData } from 'node:worker_threads';

import Database from 'better-sqlite3';

import { SqliteQueryStore } from './queries.js';
import { QUERY_METHODS, type QueryAnswer, type QueryAsk } from './worker-protocol.js';

const { file, sensor } = workerData as { file: string; sensor: string };
const db = new Database(file, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 2000');
db.pragma('cache_size = -16384');
const store = new SqliteQueryStore(db, sensor);
const port = parentPort!;

port.on('message', (ask: QueryAsk) => {
  void answer(ask).then((a) => port.postMessage(a));
});

async function answer(ask: QueryAsk): Promise<QueryAnswer> {
  try {
    if (!QUERY_METHODS.includes(ask.method)) throw new Error(`no query ${ask.method}`);
    const fn = store[ask.method] as (...args: unknown[]) => Promise<unknown>;
    return { id: ask.id, value: await fn.apply(store, ask.args) };
  } catch (err) {
    return { id: ask.id, error: (err as Error).message };
  }
}
