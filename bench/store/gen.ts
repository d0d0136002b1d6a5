// Deterministic synthetic traffic for the store benchmark: sessions (with the listener's attempt for each)
// spread over a span of days, ports skewed like real scanning (a few hot ports, a long tail of random ones),
// sources from a pool with a heavy head, payloads from a small pool of common requests plus some unique ones.
import type { SessionEvent } from '../../src/core/events.js';
import { openDb } from '../../src/store/sqlite/db.js';
import { type Attempt, StoreWriter } from '../../src/store/sqlite/writer.js';

let seed = 0x9e3779b9;
export const rnd = (): number => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};
const ri = (n: number): number => Math.floor(rnd() * n);

const HOT = [
  22, 23, 80, 443, 445, 3389, 8080, 21, 25, 53, 110, 143, 1433, 3306, 5432, 5900, 6379, 8443, 9200, 2323,
];
const SOURCES = 300_000;
const srcOf = (i: number): string => `${1 + (i % 220)}.${(i >> 8) & 255}.${(i >> 16) & 255}.${(i * 7) & 255}`;

const COMMON = [
  'GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0\r\n\r\n',
  'SSH-2.0-Go\r\n',
  'SSH-2.0-libssh2_1.9.0\r\n',
  '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03',
  'GET /.env HTTP/1.1\r\nHost: x\r\n\r\n',
  'POST /boaform/admin/formLogin HTTP/1.1\r\n\r\n',
  '\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00\x01\x00\x08\x00\x03\x00\x00\x00',
  'admin\r\nadmin\r\n',
].map((s, i) => Buffer.from(s.repeat(1 + (i % 3)), 'latin1').toString('base64'));

/** Geo of a synthetic source, fixed per address (what the enricher would return). */
export function geoOf(src: string): { cc: string; asn: number; org: string } {
  const o = src.split('.').map(Number);
  const cc = ['CN', 'US', 'RU', 'NL', 'DE', 'BR', 'IN', 'VN'][(o[0]! * 7 + o[1]!) % 8]!;
  const asn = 1000 + ((o[0]! * 31 + o[1]! * 17 + o[2]!) % 3000);
  return { cc, asn, org: `Example AS${asn}` };
}

/** The i-th session of n over [from, from + spanMs), and its attempt (listener mode: one per session). */
export function sessionAt(
  i: number,
  n: number,
  from: number,
  spanMs: number,
): { s: SessionEvent; a: Attempt } {
  const t = from + Math.floor((i / n) * spanMs) + ri(1000);
  const dport = rnd() < 0.75 ? HOT[Math.floor(HOT.length * rnd() ** 2)]! : 1 + ri(65535);
  const src = srcOf(Math.floor(SOURCES * rnd() ** 3));
  const iso = new Date(t).toISOString();
  // 2% carry a payload of their own: the store keeps those; the rest are deduplicated.
  const data =
    rnd() < 0.02
      ? Buffer.from(`unique ${i} ${rnd()}`.repeat(4)).toString('base64')
      : COMMON[ri(COMMON.length)]!;
  const udp = dport === 53 || rnd() < 0.05;
  return {
    s: {
      type: 'session',
      ts: iso,
      sensor: 'bench',
      proto: udp ? 'udp' : dport === 443 ? 'tls' : 'tcp',
      src,
      sport: 1024 + ri(60000),
      dst: '198.18.0.1',
      dport,
      started: iso,
      ended: iso,
      bytes: 100,
      truncated: false,
      close: 'fin',
      payloads: [{ index: 0, timestamp: iso, data }],
      geo: geoOf(src),
    },
    a: { time: t, proto: udp ? 'udp' : 'tcp', src, dst: '198.18.0.1', dport, isNew: true },
  };
}

export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

export interface FillOptions {
  /** Sessions the store should hold (those already there are kept, the rest added). */
  sessions: number;
  /** Start of the span (ms) and its length: sessions spread over it by sessionAt. */
  from: number;
  span: number;
  /** Writer batch (maxPending). */
  batch: number;
  geo?: typeof geoOf;
  /** Log progress every million sessions. */
  progress?: boolean;
}

/** Fills (or tops up) a store in dir through the real writer: one session and one attempt per index. */
export function fillStore(dir: string, o: FillOptions): void {
  const { db } = openDb(dir);
  const have = (db.prepare('SELECT count(*) n FROM sessions').get() as { n: number }).n;
  const n = o.sessions;
  if (have >= n) {
    console.log(`store in ${dir} already holds ${fmt(have)} sessions`);
    db.close();
    return;
  }
  const w = new StoreWriter(db, {
    maxPayloadBytes: 8192,
    maxPending: o.batch,
    ...(o.geo ? { geo: o.geo } : {}),
  });
  const t = performance.now();
  for (let i = have; i < n; i++) {
    const { s, a } = sessionAt(i, n, o.from, o.span);
    w.addAttempt(a);
    w.addSession(s);
    if (o.progress && i % 1_000_000 === 999_999)
      console.log(`  ${fmt(i + 1)} sessions, ${fmt((i + 1 - have) / ((performance.now() - t) / 1000))}/s`);
  }
  w.flush();
  const secs = (performance.now() - t) / 1000;
  console.log(
    `filled ${fmt(n - have)} sessions (+ one attempt each) over ${(o.span / 86_400_000).toFixed(0)} days in ${secs.toFixed(0)} s: ${fmt((n - have) / secs)} sessions/s`,
  );
  db.pragma('optimize');
  db.close();
}
