// Top ports over ranges of several days without summing every (port, hour) row: the random-port tail of a
// telescope leaves ~80 000 of those a day. Exact by the threshold argument: take the K busiest ports of each
// whole UTC day (index on (day, new_n)); a port outside every day's top K has at most the sum of the K-th
// values on the whole days, plus at most the largest edge count among ports outside the candidates (the ragged
// ends of the range are summed in full). If the limit-th candidate beats that bound strictly, the answer is
// exact; otherwise K grows, and past MAX_K the caller sums everything.
import type { Statement } from 'better-sqlite3';

import type { PortCount, TimeRange } from '../query.js';
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
  const edges = new Map<string, PortCount>();
  for (const r of [
    { from: q.from, to: dA * DAY },
    { from: dB * DAY, to: q.to },
  ])
    if (r.to > r.from)
      for (const p of scan({ ...r, ...withProto }, -1)) {
        const e = edges.get(keyOf(p));
        if (e) {
          e.all += p.all;
          e.new += p.new;
          e.sessions = (e.sessions ?? 0) + (p.sessions ?? 0);
        } else edges.set(keyOf(p), { ...p });
      }
  const protoSql = q.proto === undefined ? `proto < ${PROTO_TOTAL}` : 'proto = ?';
  const protoArg = q.proto === undefined ? [] : [PROTO_NAME.indexOf(q.proto)];
  const topOfDay = st(
    `SELECT proto, port, new_n n FROM counters_day WHERE day = ? AND ${protoSql} ORDER BY new_n DESC LIMIT ?`,
  );
  const sumOf = st(
    `SELECT coalesce(sum(all_n), 0) a, coalesce(sum(new_n), 0) n, coalesce(sum(sess_n), 0) s FROM counters_day
     WHERE proto = ? AND port = ? AND day >= ? AND day < ?`,
  );
  for (let k = Math.max(2 * q.limit, 50); k <= MAX_K; k *= 4) {
    const cand = new Map<string, [number, number]>();
    let bound = 0;
    for (let d = dA; d < dB; d++) {
      const rows = topOfDay.all(d, ...protoArg, k) as { proto: number; port: number; n: number }[];
      for (const r of rows) cand.set(`${PROTO_NAME[r.proto]}|${r.port}`, [r.proto, r.port]);
      if (rows.length === k) bound += rows[k - 1]!.n;
    }
    const totals: PortCount[] = [];
    for (const [key, [proto, port]] of cand) {
      const s = sumOf.get(proto, port, dA, dB) as { a: number; n: number; s: number };
      const e = edges.get(key);
      totals.push({
        proto: PROTO_NAME[proto] ?? 'tcp',
        port,
        all: s.a + (e?.all ?? 0),
        new: s.n + (e?.new ?? 0),
        sessions: s.s + (e?.sessions ?? 0),
      });
    }
    let edgeMax = 0;
    for (const [key, e] of edges) if (!cand.has(key) && e.new > edgeMax) edgeMax = e.new;
    totals.sort(byOrder);
    const last = totals[q.limit - 1];
    if (last && last.new > bound + edgeMax) return totals.slice(0, q.limit);
  }
  return undefined;
}
