// Top ports over ranges of several days without summing every (port, hour) row: the random-port tail of a
// telescope leaves ~80 000 of those a day. Exact by the threshold argument: take the K busiest ports of each
// whole UTC day (index on (day, new_n)); a port outside every day's top K has at most the sum of the K-th
// values on the whole days, plus, for each ragged end of the range, the K-th count of that end's busiest ports
// (those join the candidates). If the limit-th candidate beats that bound strictly, the answer is exact;
// otherwise K grows, and past MAX_K the caller sums everything.
import type { Statement } from 'better-sqlite3';

import type { PortCount, TimeRange } from '../query.js';
import { split } from './split-range.js';
import { PROTO_TOTAL } from './schema.js';

const DAY = 86_400_000;
const MAX_K = 20_000;
const PROTO_NAME = ['tcp', 'udp'] as const;

type Scan = (r: TimeRange & { proto?: 'tcp' | 'udp' }, limit: number) => PortCount[];

const keyOf = (p: PortCount): string => `${p.proto}|${p.port}`;

export function byOrder(x: PortCount, y: PortCount): number {
  return (
    y.new - x.new ||
    y.all - x.all ||
    (y.sessions ?? 0) - (x.sessions ?? 0) ||
    x.port - y.port ||
    (x.proto < y.proto ? -1 : 1)
  );
}

/** Whole UTC days of the range, or undefined when fewer than two (the plain sum is cheap enough then). */
export function wholeDays(r: TimeRange): [number, number] | undefined {
  const dA = Math.ceil(r.from / DAY);
  const dB = Math.floor(r.to / DAY);
  return dB - dA >= 2 ? [dA, dB] : undefined;
}

export function topPortsByDays(
  st: (sql: string) => Statement,
  q: TimeRange & { proto?: 'tcp' | 'udp'; limit: number },
  scan: Scan,
): PortCount[] | undefined {
  const days = wholeDays(q);
  if (!days) return undefined;
  const [dA, dB] = days;
  const withProto = q.proto === undefined ? {} : { proto: q.proto };
  const edges = [
    { from: q.from, to: dA * DAY },
    { from: dB * DAY, to: q.to },
  ].filter((r) => r.to > r.from);
  const protoSql = q.proto === undefined ? `proto < ${PROTO_TOTAL}` : 'proto = ?';
  const protoArg = q.proto === undefined ? [] : [PROTO_NAME.indexOf(q.proto)];
  // INDEXED BY: without statistics the planner reads the whole day by primary key and sorts it (100x slower).
  const topOfDay = st(
    `SELECT proto, port, new_n n FROM counters_day INDEXED BY counters_day_top WHERE day = ? AND ${protoSql}
     ORDER BY new_n DESC LIMIT ?`,
  );
  const sumOfDays = st(
    `SELECT coalesce(sum(all_n), 0) a, coalesce(sum(new_n), 0) n, coalesce(sum(sess_n), 0) s FROM counters_day
     WHERE proto = ? AND port = ? AND day >= ? AND day < ?`,
  );
  const part = (table: string, col: string): string =>
    `SELECT all_n, new_n, sess_n FROM ${table} WHERE proto = ? AND port = ? AND ${col} >= ? AND ${col} < ?`;
  const sumOfEdge = st(
    `SELECT coalesce(sum(all_n), 0) a, coalesce(sum(new_n), 0) n, coalesce(sum(sess_n), 0) s FROM (
       ${part('counters_min', 'minute')} UNION ALL ${part('counters_hour', 'hour')} UNION ALL
       ${part('counters_min', 'minute')})`,
  );
  for (let k = Math.max(2 * q.limit, 20); k <= MAX_K; k *= 4) {
    const cand = new Map<string, [number, number]>();
    let bound = 0;
    for (let d = dA; d < dB; d++) {
      const rows = topOfDay.all(d, ...protoArg, k) as { proto: number; port: number; n: number }[];
      for (const r of rows) cand.set(`${PROTO_NAME[r.proto]}|${r.port}`, [r.proto, r.port]);
      if (rows.length === k) bound += rows[k - 1]!.n;
    }
    // The ragged ends: their busiest ports join the candidates; any other port has at most the last one's count.
    for (const r of edges) {
      const top = scan({ ...r, ...withProto }, k);
      for (const p of top) cand.set(keyOf(p), [PROTO_NAME.indexOf(p.proto), p.port]);
      if (top.length === k) bound += top[k - 1]!.new;
    }
    const totals: PortCount[] = [];
    for (const [, [proto, port]] of cand) {
      const t = { ...(sumOfDays.get(proto, port, dA, dB) as { a: number; n: number; s: number }) };
      for (const r of edges) {
        const [m0, m1, h0, h1, m2, m3] = split(r);
        const e = sumOfEdge.get(proto, port, m0, m1, proto, port, h0, h1, proto, port, m2, m3) as typeof t;
        t.a += e.a;
        t.n += e.n;
        t.s += e.s;
      }
      totals.push({ proto: PROTO_NAME[proto] ?? 'tcp', port, all: t.a, new: t.n, sessions: t.s });
    }
    totals.sort(byOrder);
    const last = totals[q.limit - 1];
    if (last && last.new > bound) return totals.slice(0, q.limit);
  }
  return undefined;
}
