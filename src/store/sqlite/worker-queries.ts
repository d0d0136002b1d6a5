// The API's reads of the SQLite store, off the sensor's event loop: better-sqlite3 is synchronous and has
// no progress handler or interrupt, so a slow query (a payload search over millions of rows) would hold
// capture, the listener and the writer for as long as it runs. Here every query runs in a worker thread
// on a read-only connection of its own, one at a time, under a time budget: past QUERY_BUDGET_MS the
// request gets TW_ERR_STORE_TIMEOUT (the API answers 503) and the worker is abandoned — terminated, it
// exits once SQLite returns — and a fresh one serves the next query. Abandoned workers still running and
// queries waiting are capped, so a client repeating an expensive request cannot pile up threads or work.
import { Worker } from 'node:worker_threads';

import { TidewatchError } from '../../core/errors.js';
import type { Stats } from '../../core/stats.js';
import { QUERY_BUDGET_MS, type QueryStore } from '../query.js';
import type { QueryAnswer, QueryMethod } from './worker-protocol.js';

/** Queries waiting for the worker at most; beyond, a request is refused at once (503). */
export const MAX_WAITING_QUERIES = 64;
/** Abandoned workers still finishing their query at most; beyond, requests are refused until one exits. */
export const MAX_ABANDONED_WORKERS = 2;

interface Job {
  id: number;
  method: QueryMethod;
  args: unknown[];
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

export interface WorkerQueryOptions {
  /** The database file (the sensor's writer holds it open in WAL mode). */
  file: string;
  sensor: string;
  stats: Stats;
  /** Default QUERY_BUDGET_MS. */
  budgetMs?: number | undefined;
}

const timeout = (message: string): TidewatchError => new TidewatchError('TW_ERR_STORE_TIMEOUT', message);

export class WorkerQueryStore implements QueryStore {
  readonly single: string;
  private worker: Worker | undefined;
  private running: Job | undefined;
  private readonly waiting: Job[] = [];
  private abandoned = 0;
  private nextId = 1;
  private closed = false;
  private readonly budgetMs: number;

  constructor(private readonly o: WorkerQueryOptions) {
    this.single = o.sensor;
    this.budgetMs = o.budgetMs ?? QUERY_BUDGET_MS;
  }

  summary: QueryStore['summary'] = (...a) => this.call('summary', a);
  topPorts: QueryStore['topPorts'] = (...a) => this.call('topPorts', a);
  portSeries: QueryStore['portSeries'] = (...a) => this.call('portSeries', a);
  sources: QueryStore['sources'] = (...a) => this.call('sources', a);
  source: QueryStore['source'] = (...a) => this.call('source', a);
  sessions: QueryStore['sessions'] = (...a) => this.call('sessions', a);
  session: QueryStore['session'] = (...a) => this.call('session', a);
  scans: QueryStore['scans'] = (...a) => this.call('scans', a);
  spikes: QueryStore['spikes'] = (...a) => this.call('spikes', a);
  blocks: QueryStore['blocks'] = (...a) => this.call('blocks', a);
  dailyRows: QueryStore['dailyRows'] = (...a) => this.call('dailyRows', a);
  sensors: QueryStore['sensors'] = (...a) => this.call('sensors', a);
  fleetSpikes: QueryStore['fleetSpikes'] = (...a) => this.call('fleetSpikes', a);
  campaigns: NonNullable<QueryStore['campaigns']> = (...a) => this.call('campaigns', a);
  iocs: NonNullable<QueryStore['iocs']> = (...a) => this.call('iocs', a);

  /** Starts the worker now, so the first request does not wait for it. */
  warm(): void {
    this.spawned();
  }

  private call<T>(method: QueryMethod, args: unknown[]): Promise<T> {
    if (this.closed) return Promise.reject(timeout('the store is closing'));
    if (this.abandoned >= MAX_ABANDONED_WORKERS || this.waiting.length >= MAX_WAITING_QUERIES) {
      this.o.stats.inc('store_query_refused_total');
      return Promise.reject(
        timeout('the store is busy with slow queries: try again later or narrow the query'),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const job: Job = { id: this.nextId++, method, args, resolve: resolve as (v: unknown) => void, reject };
      job.timer = setTimeout(() => this.expire(job), this.budgetMs);
      this.waiting.push(job);
      this.next();
    });
  }

  private next(): void {
    if (this.running || this.closed) return;
    const job = this.waiting.shift();
    if (!job) return;
    this.running = job;
    this.spawned().postMessage({ id: job.id, method: job.method, args: job.args });
  }

  private spawned(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./query-worker.js', import.meta.url), {
      workerData: { file: this.o.file, sensor: this.o.sensor },
    });
    w.unref();
    w.on('message', (a: QueryAnswer) => this.answered(w, a));
    w.on('error', (err) => this.lost(w, err));
    w.on('exit', (code) => this.lost(w, new Error(`query worker exited (${code})`)));
    this.worker = w;
    return w;
  }

  private answered(w: Worker, a: QueryAnswer): void {
    const job = this.running;
    if (w !== this.worker || !job || a.id !== job.id) return;
    this.finish(job);
    if (a.error !== undefined) job.reject(new TidewatchError('TW_ERR_STORE', a.error));
    else job.resolve(a.value);
    this.next();
  }

  /** The worker failed (could not open the database, crashed): its query fails, the next gets a new one. */
  private lost(w: Worker, err: Error): void {
    if (w !== this.worker) return;
    this.worker = undefined;
    const job = this.running;
    if (job) {
      this.finish(job);
      job.reject(new TidewatchError('TW_ERR_STORE', `store query failed: ${err.message}`, { cause: err }));
    }
    this.next();
  }

  private finish(job: Job): void {
    clearTimeout(job.timer);
    if (this.running === job) this.running = undefined;
  }

  /** Past the budget: a waiting query is dropped; the running one's worker is abandoned for a new one. */
  private expire(job: Job): void {
    const i = this.waiting.indexOf(job);
    if (i >= 0) this.waiting.splice(i, 1);
    else if (this.running === job) {
      this.finish(job);
      this.abandon();
    } else return;
    this.o.stats.inc('store_query_timeouts_total');
    job.reject(
      timeout(
        `store query ${job.method} ran past its ${this.budgetMs} ms budget: narrow the time range or search`,
      ),
    );
    this.next();
  }

  private abandon(): void {
    const w = this.worker;
    if (!w) return;
    this.worker = undefined;
    this.abandoned++;
    // terminate() resolves when the thread is gone, i.e. once SQLite has returned from the query.
    void w.terminate().finally(() => this.abandoned--);
  }

  /** Refuses what waits and stops the worker (one still inside a query exits when it returns). */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.waiting.splice(0)) {
      this.finish(job);
      job.reject(timeout('the store is closing'));
    }
    if (this.running) {
      const job = this.running;
      this.finish(job);
      job.reject(timeout('the store is closing'));
    }
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }
}
