// Per-minute counter cells, the one home of their keys: an attempt or a session counts into its
// (proto, port, minute) cell and into the minute's totals cell (proto PROTO_TOTAL, port 0), which is what
// the dashboard's totals read. The SQLite writer and the ClickHouse shipper both fold into these between two
// writes, so a busy port costs one row per minute rather than one per packet.
import { PROTO_TOTAL } from './sqlite/schema.js';

export const PROTO_NUM = { tcp: 0, udp: 1 } as const;
const MIN_MS = 60_000;

export interface Cell {
  all: number;
  new: number;
  sess: number;
}

/** A cell with its key: proto (PROTO_NUM or PROTO_TOTAL), port and minute since the epoch. */
export interface MinuteCell extends Cell {
  proto: number;
  port: number;
  minute: number;
}

export class CounterCells {
  private cells = new Map<string, MinuteCell>();

  get size(): number {
    return this.cells.size;
  }

  /** Counts into the port's minute and the minute's totals cell; returns how many cells it created (0–2). */
  add(proto: 'tcp' | 'udp', port: number, time: number, all: number, isNew: number, sess: number): number {
    const minute = Math.floor(time / MIN_MS);
    return (
      this.into(PROTO_NUM[proto], port, minute, all, isNew, sess) +
      this.into(PROTO_TOTAL, 0, minute, all, isNew, sess)
    );
  }

  private into(
    proto: number,
    port: number,
    minute: number,
    all: number,
    isNew: number,
    sess: number,
  ): number {
    const key = `${proto}|${port}|${minute}`;
    const c = this.cells.get(key);
    if (c) {
      c.all += all;
      c.new += isNew;
      c.sess += sess;
      return 0;
    }
    this.cells.set(key, { proto, port, minute, all, new: isNew, sess });
    return 1;
  }

  /** The cells counted so far, and a fresh start. */
  take(): MinuteCell[] {
    const out = [...this.cells.values()];
    this.cells = new Map();
    return out;
  }
}
