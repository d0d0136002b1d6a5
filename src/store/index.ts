// The embedded store (SQLite): a sink for all events and the query interface the web API reads.
// TODO(owner): entry point wired by sensor.ts; the store work stream fills it in.
import type { SensorContext } from '../core/context.js';
import type { Component } from '../core/lifecycle.js';
import type { QueryStore } from './query.js';

export interface StoreComponent extends Component {
  /** Query interface for the web API. */
  readonly query: QueryStore;
}

export async function openStore(_ctx: SensorContext): Promise<StoreComponent | undefined> {
  return undefined;
}
