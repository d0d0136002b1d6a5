// The embedded store (SQLite): a sink for all events and the query interface the web API reads.
// TODO(owner): entry point wired by sensor.ts; the store work stream fills it in.
import type { SensorContext } from '../core/context.js';
import type { Component } from '../core/lifecycle.js';

export interface StoreComponent extends Component {
  /** Query interface for the web API (store/query.ts defines it). */
  readonly query: unknown;
}

export async function openStore(_ctx: SensorContext): Promise<StoreComponent | undefined> {
  return undefined;
}
