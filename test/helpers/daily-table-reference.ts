// REFERENCE for tests only: the daily table as it was before the typed-array rewrite (string keys, a Map
// per source), kept verbatim except that a new source is inserted after the eviction it causes (the old
// order could evict the new source itself and leak its row counts). Property tests compare
// src/store/daily-table.ts against it. Original header follows.
// The per-source rows of Tsusen's daily CSV, in memory: TCP rows count connection attempts, UDP rows
// datagrams; a row is (UTC day, proto, dst_port, dst_ip, src_ip), so a new source port never resets a row
// (Tsusen did). Memory is bounded: at most maxSources sources and maxRows rows; the least recently seen
// source goes first, and every eviction is counted. Also the CSV line format (write, load, parse).
// src/store/daily-csv.ts rewrites the day's file from it.
import { createWriteStream, readFileSync, renameSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { isIP } from 'node:net';
import type { ProbeEvent } from '../../src/core/events.js';

export const CSV_HEADER = 'proto dst_port dst_ip src_ip first_seen last_seen count';

export interface DailyRow {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  proto: string;
  /** null for protocols without ports (written as `-`, as Tsusen does). */
  dst_port: number | null;
  dst_ip: string;
  src_ip: string;
  first_seen: number;
  last_seen: number;
  count: number;
}

interface SourceState {
  /** Made a TCP connection attempt (counted by sourcesCount()). */
  tcp: boolean;
  /**
   * Rows by rowKey() (which holds day, protocol and port) for the first destination the source hit, and
   * per destination for the others: most sources hit one address, and a Map less per source saves ~200
   * bytes of the ~550 a source costs.
   */
  dst0: string;
  rows0: Map<number, Cell>;
  more?: Map<string, Map<number, Cell>>;
  /** Rows whose rowKey() was taken by a row of a day 64 days apart (only for files spanning months). */
  far?: Map<string, FarCell>;
  rowCount: number;
  /** Seen again since it last reached the recent end of the map (the CLOCK "referenced" bit). */
  seen: boolean;
}

/**
 * A row's numbers only: source, destination, protocol and port are in the keys that lead to it, so a row
 * costs 4 numbers instead of 8 fields (half the memory, much less garbage-collector work).
 * rows() makes the full DailyRow objects.
 */
interface Cell {
  dayNum: number;
  /** Seconds into the UTC day: small integers, which V8 stores unboxed (unix seconds would not be). */
  first: number;
  last: number;
  count: number;
}
interface FarCell extends Cell {
  proto: string;
  port: number | null;
}

const PROTO_CODES = new Map<string, number>([
  ['TCP', 0],
  ['UDP', 1],
]);
const PROTO_NAMES = ['TCP', 'UDP'];
/**
 * (day mod 64, protocol, port or 65536 for none) packed into a small integer: V8 hashes and compares small
 * integers much faster than strings or large numbers. Two days 64 days apart share a key; the row's own
 * `day` tells them apart and the rare loser goes to a string-keyed map (see addRow).
 */
function rowKey(proto: string, dstPort: number | null, dayNum: number): number {
  let code = proto === 'TCP' ? 0 : proto === 'UDP' ? 1 : PROTO_CODES.get(proto);
  if (code === undefined) {
    code = PROTO_CODES.size & 0x7f;
    PROTO_CODES.set(proto, code);
    PROTO_NAMES[code] = proto;
  }
  return ((dayNum & 0x3f) << 24) | (code << 17) | (dstPort ?? 65536);
}

function* byDestination(s: SourceState): Generator<[string, Map<number, Cell>]> {
  yield [s.dst0, s.rows0];
  if (s.more) yield* s.more;
}

export interface DailyTableOptions {
  maxSources: number;
  /** Rows kept at most over all sources; default 4 per source allowed. */
  maxRows?: number;
  onEvict?: () => void;
}

let cachedDayNum = NaN;
let cachedDay = '';
/** YYYY-MM-DD of a unix time, UTC. Cached: formatting a Date costs ~2 µs and probes come in bursts. */
export function utcDay(unixSec: number): string {
  const n = Math.floor(unixSec / 86400);
  if (n !== cachedDayNum) {
    cachedDay = new Date(n * 86400_000).toISOString().slice(0, 10);
    cachedDayNum = n;
  }
  return cachedDay;
}

export class ReferenceDailyTable {
  private readonly sources = new Map<string, SourceState>();
  private readonly maxSources: number;
  private readonly maxRows: number;
  private readonly onEvict: (() => void) | undefined;
  private rowCount = 0;
  /** Rows per day number. */
  private readonly dayRows = new Map<number, number>();
  private tcpSources = 0;
  /** Sources evicted (least recently seen first) to stay within the bounds. */
  evicted = 0;
  /** Rows refused because one source alone already held maxRows rows. */
  droppedRows = 0;

  constructor(opts: DailyTableOptions) {
    this.maxSources = Math.max(1, Math.floor(opts.maxSources));
    this.maxRows = Math.max(1, Math.floor(opts.maxRows ?? this.maxSources * 4));
    this.onEvict = opts.onEvict;
  }

  /**
   * Adds a probe: TCP connection attempts (capture `syn`, listener `connect`) and UDP datagrams make rows;
   * other probe kinds (fin, null, xmas, ...) are not connection attempts. Returns whether a row counted it.
   */
  add(p: ProbeEvent): boolean {
    let proto: string;
    if (p.proto === 'tcp') {
      if (p.kind !== 'syn' && p.kind !== 'connect') return false;
      proto = 'TCP';
    } else if (p.proto === 'udp') {
      proto = 'UDP';
    } else return false;
    return this.addRow(proto, p.dport, p.dst, p.src, Math.floor(p.time / 1000));
  }

  /** Adds `count` events seen between first and last (unix seconds) to the row; merges with what exists. */
  addRow(
    proto: string,
    dstPort: number | null,
    dst: string,
    src: string,
    first: number,
    last = first,
    count = 1,
  ): boolean {
    let s = this.sources.get(src);
    if (s) s.seen = true;
    else {
      s = { tcp: false, dst0: dst, rows0: new Map(), rowCount: 0, seen: false };
      if (this.sources.size >= this.maxSources) this.evictOldest();
      this.sources.set(src, s);
    }
    if (proto === 'TCP' && !s.tcp) {
      s.tcp = true;
      this.tcpSources++;
    }
    let byDst = dst === s.dst0 ? s.rows0 : s.more?.get(dst);
    const dayNum = Math.floor(first / 86400);
    const key = rowKey(proto, dstPort, dayNum);
    const dayStart = dayNum * 86400;
    first -= dayStart;
    last -= dayStart;
    let row: Cell | undefined = byDst?.get(key);
    let farKey: string | undefined;
    if (row && row.dayNum !== dayNum) {
      farKey = `${dayNum} ${proto} ${dstPort ?? '-'} ${dst}`;
      row = s.far?.get(farKey);
    }
    if (row) {
      if (first < row.first) row.first = first;
      if (last > row.last) row.last = last;
      row.count += count;
      return true;
    }
    if (s.rowCount >= this.maxRows) {
      this.droppedRows++;
      return false;
    }
    if (!byDst) {
      byDst = new Map();
      (s.more ??= new Map()).set(dst, byDst);
    }
    s.rowCount++;
    if (farKey) (s.far ??= new Map()).set(farKey, { dayNum, first, last, count, proto, port: dstPort });
    else byDst.set(key, { dayNum, first, last, count });
    this.rowCount++;
    this.countDay(dayNum, 1);
    while (this.rowCount > this.maxRows && this.sources.size > 1) this.evictOldest();
    return true;
  }

  /**
   * Second chance (CLOCK), the classic cheap approximation of least-recently-used: a source seen again is
   * only flagged (no reordering on the hot path); here, flagged sources at the old end get their flag
   * cleared and go to the recent end, and the first unflagged one is evicted. Each pass over a source
   * clears its flag, so this ends within one walk of the map.
   */
  private evictOldest(): void {
    let victim: string | undefined;
    for (const [src, s] of this.sources) {
      if (!s.seen) {
        victim = src;
        break;
      }
      s.seen = false;
      this.sources.delete(src);
      this.sources.set(src, s);
    }
    if (victim === undefined) return;
    this.removeSource(victim);
    this.evicted++;
    this.onEvict?.();
  }

  private removeSource(src: string): void {
    const s = this.sources.get(src);
    if (!s) return;
    this.sources.delete(src);
    this.rowCount -= s.rowCount;
    for (const [, m] of byDestination(s)) for (const c of m.values()) this.countDay(c.dayNum, -1);
    if (s.far) for (const c of s.far.values()) this.countDay(c.dayNum, -1);
    if (s.tcp) this.tcpSources--;
  }

  /** Distinct sources (held now) that made a TCP connection attempt. */
  sourcesCount(): number {
    return this.tcpSources;
  }

  get size(): { sources: number; rows: number } {
    return { sources: this.sources.size, rows: this.rowCount };
  }

  /** All rows, or those of one UTC day, made fresh (a snapshot: later additions do not change them). */
  rows(day?: string): DailyRow[] {
    const out: DailyRow[] = [];
    for (const src of this.sources.keys()) this.rowsOf(src, day, out);
    return out;
  }

  /** Appends the rows of one source (of one day, or all) to `out`; returns how many it added. */
  private rowsOf(src: string, day: string | undefined, out: DailyRow[]): number {
    const s = this.sources.get(src);
    if (!s) return 0;
    const before = out.length;
    const add = (dst: string, c: Cell, proto: string, port: number | null): void => {
      const d = utcDay(c.dayNum * 86400);
      if (day && d !== day) return;
      out.push({
        day: d,
        proto,
        dst_port: port,
        dst_ip: dst,
        src_ip: src,
        first_seen: c.dayNum * 86400 + c.first,
        last_seen: c.dayNum * 86400 + c.last,
        count: c.count,
      });
    };
    for (const [dst, m] of byDestination(s))
      for (const [k, c] of m) {
        const port = k & 0x1ffff;
        add(dst, c, PROTO_NAMES[(k >> 17) & 0x7f]!, port === 65536 ? null : port);
      }
    if (s.far) for (const [k, c] of s.far) add(k.slice(k.lastIndexOf(' ') + 1), c, c.proto, c.port);
    return out.length - before;
  }

  /** The UTC days that have rows, oldest first (kept up to date as rows come and go: no scan). */
  days(): string[] {
    return [...this.dayRows.keys()].sort((a, b) => a - b).map((n) => utcDay(n * 86400));
  }

  private countDay(dayNum: number, by: number): void {
    const n = (this.dayRows.get(dayNum) ?? 0) + by;
    if (n > 0) this.dayRows.set(dayNum, n);
    else this.dayRows.delete(dayNum);
  }

  /** Forgets the rows of days before `day` (after they were written for the last time). */
  dropDaysBefore(day: string): void {
    const limit = Math.floor(Date.parse(`${day}T00:00:00Z`) / 86400_000);
    const prune = <K>(s: SourceState, m: Map<K, Cell>): void => {
      for (const [k, c] of m) {
        if (c.dayNum >= limit) continue;
        m.delete(k);
        this.countDay(c.dayNum, -1);
        s.rowCount--;
        this.rowCount--;
      }
    };
    for (const [src, s] of [...this.sources]) {
      prune(s, s.rows0);
      if (s.more)
        for (const [dst, m] of s.more) {
          prune(s, m);
          if (m.size === 0) s.more.delete(dst);
        }
      if (s.far) prune(s, s.far);
      if (s.rowCount === 0) this.removeSource(src);
    }
  }

  /** Writes one day's rows to `file` atomically (temp file + rename). Yields to the event loop per chunk. */
  async write(file: string, day?: string): Promise<number> {
    // The source list is copied (cheap: references), the rows are formatted source by source, and the
    // loop yields between chunks: a table of millions of rows never blocks the event loop for long.
    // A source moved or evicted meanwhile is written once, as it was when its turn came.
    const srcs = [...this.sources.keys()];
    const tmp = `${file}.tmp-${process.pid}`;
    const out = createWriteStream(tmp);
    let written = 0;
    try {
      let chunk = CSV_HEADER + '\n';
      const batch: DailyRow[] = [];
      for (let i = 0; i < srcs.length; i++) {
        written += this.rowsOf(srcs[i]!, day, batch);
        for (const r of batch) chunk += formatRow(r);
        batch.length = 0;
        if (chunk.length >= 65536) {
          if (!out.write(chunk)) await once(out, 'drain');
          else await new Promise((r) => setImmediate(r));
          chunk = '';
        }
      }
      out.end(chunk);
      await once(out, 'finish');
      renameSync(tmp, file);
    } catch (err) {
      out.destroy();
      rmSync(tmp, { force: true });
      throw err;
    }
    return written;
  }

  /** Merges a CSV written by write() (or by Tsusen). Returns rows read and lines skipped as invalid. */
  load(file: string): { rows: number; skipped: number } {
    const text = readFileSync(file, 'utf8');
    let rows = 0;
    let skipped = 0;
    for (const line of text.split('\n')) {
      if (line === '' || line === CSV_HEADER) continue;
      const r = parseRow(line);
      if (!r) {
        skipped++;
        continue;
      }
      if (this.addRow(r.proto, r.dst_port, r.dst_ip, r.src_ip, r.first_seen, r.last_seen, r.count)) rows++;
    }
    return { rows, skipped };
  }
}

export const formatRow = (r: DailyRow): string =>
  `${r.proto} ${r.dst_port ?? '-'} ${r.dst_ip} ${r.src_ip} ${r.first_seen} ${r.last_seen} ${r.count}\n`;

const INT = /^\d{1,15}$/;

/** One CSV line, validated field by field (a hand-edited or merged file is input like any other). */
export function parseRow(line: string): Omit<DailyRow, 'day'> | null {
  const f = line.trim().split(/\s+/);
  if (f.length !== 7) return null;
  const [proto, port, dst, src, first, last, count] = f as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (!/^[A-Z0-9]{1,16}$/.test(proto)) return null;
  if (port !== '-' && (!INT.test(port) || Number(port) > 65535)) return null;
  if (!isIP(dst) || !isIP(src)) return null;
  if (!INT.test(first) || !INT.test(last) || !INT.test(count)) return null;
  const fs = Number(first);
  const ls = Number(last);
  if (ls < fs || utcDay(fs) !== utcDay(ls)) return null;
  return {
    proto,
    dst_port: port === '-' ? null : Number(port),
    dst_ip: dst,
    src_ip: src,
    first_seen: fs,
    last_seen: ls,
    count: Number(count),
  };
}
