// Counter queries: totals, top ports and per-port series over the minute, hour and day counters. Sums read the
// hourly table for whole hours and the minute table only for the ragged ends of a range.
import type { Statement } from 'better-sqlite3';

import { TidewatchError } from '../../core/errors.js';
import type { PortCount, SeriesPoint, SeriesProto, TimeRange } from '../query.js';
import { PROTO_TOTAL } from './schema.js';
import { split } from './split-range.js';
import { topPortsByDays } from './top-ports.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Most points one series may have (the API bounds spans further; this guards other callers). */
const MAX_POINTS = 1_000_000;
export const PROTO_NAME = ['tcp', 'udp'] as const;

interface CounterRow {
  proto: number;
  port: number;
  a: number;
  n: number;
  s: number;
}

export class CounterQueries {
  constructor(private readonly st: (sql: string) => Statement) {}

  private counterSql(select: string, tail: string, extra = ''): string {
    const part = (table: string, col: string): string =>
      `SELECT proto, port, all_n, new_n, sess_n FROM ${table} WHERE ${col} >= ? AND ${col} < ?${extra}`;
    return `SELECT ${select} FROM (${part('counters_min', 'minute')} UNION ALL ${part('counters_hour', 'hour')}
      UNION ALL ${part('counters_min', 'minute')}) ${tail}`;
  }

  totals(r: TimeRange): { a: number; n: number; s: number } {
    const row = this.st(
      this.counterSql(
        'coalesce(sum(all_n),0) a, coalesce(sum(new_n),0) n, coalesce(sum(sess_n),0) s',
        '',
        ` AND proto = ${PROTO_TOTAL} AND port = 0`,
      ),
    ).get(...split(r)) as { a: number; n: number; s: number };
    return row;
  }

  /** Top ports by new connections; ranges of several days go through top-ports.ts. */
  topPorts(q: TimeRange & { proto?: 'tcp' | 'udp'; limit: number }): PortCount[] {
    return topPortsByDays(this.st, q, (r, limit) => this.scanPorts({ ...r, limit })) ?? this.scanPorts(q);
  }

  /** Sums every (port, time) row of the range; limit -1: all ports. */
  private scanPorts(q: TimeRange & { proto?: 'tcp' | 'udp'; limit: number }): PortCount[] {
    const p = split(q);
    const pr = q.proto === undefined ? -1 : PROTO_NAME.indexOf(q.proto);
    const sql = this.counterSql(
      'proto, port, sum(all_n) a, sum(new_n) n, sum(sess_n) s',
      'GROUP BY proto, port ORDER BY n DESC, a DESC, s DESC, port LIMIT ?',
      q.proto === undefined ? ` AND proto < ${PROTO_TOTAL}` : ' AND proto = ?',
    );
    // With a proto filter each of the three parts takes (from, to, proto).
    const full =
      q.proto === undefined ? [...p, q.limit] : [p[0], p[1], pr, p[2], p[3], pr, p[4], p[5], pr, q.limit];
    return (this.st(sql).all(...full) as CounterRow[]).map((r) => ({
      proto: PROTO_NAME[r.proto] ?? 'tcp',
      port: r.port,
      all: r.a,
      new: r.n,
      sessions: r.s,
    }));
  }

  series(
    q: TimeRange & { proto: SeriesProto; port: number; step: 'minute' | 'hour' | 'day' },
  ): SeriesPoint[] {
    const stepMs = q.step === 'minute' ? MIN : q.step === 'hour' ? HOUR : DAY;
    const a = Math.floor(q.from / stepMs);
    const b = Math.max(a, Math.ceil(q.to / stepMs));
    if (b - a > MAX_POINTS)
      throw new TidewatchError('TW_ERR_STORE', `a series of more than ${MAX_POINTS} points was asked for`);
    const [proto, port] = q.proto === 'all' ? [PROTO_TOTAL, 0] : [PROTO_NAME.indexOf(q.proto), q.port];
    const rows =
      q.step === 'minute'
        ? this.st(
            `SELECT minute t, all_n a, new_n n, sess_n s FROM counters_min
             WHERE proto = ? AND port = ? AND minute >= ? AND minute < ?`,
          ).all(proto, port, a, b)
        : q.step === 'hour'
          ? this.st(
              `SELECT hour t, all_n a, new_n n, sess_n s FROM counters_hour
               WHERE proto = ? AND port = ? AND hour >= ? AND hour < ?`,
            ).all(proto, port, a, b)
          : this.st(
              `SELECT hour / 24 t, sum(all_n) a, sum(new_n) n, sum(sess_n) s FROM counters_hour
               WHERE proto = ? AND port = ? AND hour >= ? AND hour < ? GROUP BY hour / 24`,
            ).all(proto, port, a * 24, b * 24);
    // Dense: one point per step, zeros included, so charts need not guess gaps.
    const points: SeriesPoint[] = [];
    for (let i = a; i < b; i++) points.push({ t: i * stepMs, all: 0, new: 0, sessions: 0 });
    for (const r of rows as { t: number; a: number; n: number; s: number }[]) {
      const p = points[r.t - a];
      if (p) {
        p.all = r.a;
        p.new = r.n;
        p.sessions = r.s;
      }
    }
    return points;
  }
}
