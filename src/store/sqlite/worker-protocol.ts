// The messages between WorkerQueryStore and its worker thread (query-worker.ts).
import type { QueryStore } from '../query.js';

/** The QueryStore methods the worker answers. */
export const QUERY_METHODS = [
  'summary',
  'topPorts',
  'portSeries',
  'sources',
  'source',
  'sessions',
  'session',
  'scans',
  'spikes',
  'blocks',
  'dailyRows',
  'sensors',
  'fleetSpikes',
  'campaigns',
  'iocs',
] as const satisfies readonly (keyof QueryStore)[];

export type QueryMethod = (typeof QUERY_METHODS)[number];

export interface QueryAsk {
  id: number;
  method: QueryMethod;
  args: unknown[];
}

export type QueryAnswer = { id: number; value: unknown; error?: undefined } | { id: number; error: string };
