// The per-source rows of Tsusen's daily CSV, in memory: TCP rows count connection attempts, UDP rows
// datagrams; a row is (UTC day, proto, dst_port, dst_ip, src_ip), so a new source port never resets a row
// (Tsusen did). Memory is bounded: at most maxSources sources and maxRows rows; the least recently seen
// source goes first, and every eviction is counted. Also the CSV line format (write, load, parse).
// src/store/daily-csv.ts rewrites the day's file from it; capture/analyze.ts reports it.
//
// Storage is numeric, for speed (it is updated for every connection attempt and datagram): IPv4
// addresses are int32 keys, rows live in typed arrays found through a hash table of their own, and text
// is made only when rows are read (rows(), write()). No object is allocated per source or per row, so a
// million sources cost the garbage collector nothing to keep. Addresses that are not dotted-quad IPv4
// (IPv6, or any other text handed to addRow) are kept as their text.
import { createWriteStream, readFileSync, renameSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import type { ProbeEvent } from '../core/events.js';
import { NO_ROW, RowStore } from './rows.js';
import { type DailyRow, dstText, keyText, parseRow, protoCode, PROTO_NAMES, utcDay, v4Key } from './keys.js';

export { type DailyRow, formatRow, parseRow, utcDay, v4Key } from './keys.js';

export const CSV_HEADER = 'proto dst_port dst_ip src_ip first_seen last_seen count';

/** A row's port field when it has none (written `-`). */
const NO_PORT = 65536;
/** In a row's meta word (protocol << 17 | port): the destination is text (kept in rowText), not IPv4. */
const TEXT_DST = 1 << 24;
const NONE = NO_ROW;
/** Attempts warmV4() takes at most at once. */
export const WARM_MAX = 256;
/** Sources whose row lists visit() walks at once. */
const WALK = 16;
const F_TCP = 1;
/** Seen again since it last reached the recent end of the map (the CLOCK "referenced" bit). */
const F_SEEN = 2;

/** A source's key: a dotted-quad IPv4 address as int32, anything else as its text. */
type SrcKey = number | string;

/** One row's fields, as DailyRow has them (day, proto, dst_port, dst_ip, src_ip, first, last, count). */
export type RowVisitor = (
  day: string,
  proto: string,
  dstPort: number | null,
  dst: string,
  src: string,
  firstSeen: number,
  lastSeen: number,
  count: number,
) => void;

export interface DailyTableOptions {
  maxSources: number;
  /** Rows kept at most over all sources; default 4 per source allowed. */
  maxRows?: number;
  onEvict?: () => void;
}

export class DailyTable {
  /** Source key -> slot, in recency order (second chance moves entries to the end). */
  private readonly sources = new Map<SrcKey, number>();
  private readonly maxSources: number;
  private readonly maxRows: number;
  private readonly onEvict: (() => void) | undefined;

  // Per source slot.
  private sFlags = new Uint8Array(64);
  private sRows = new Int32Array(64);
  private readonly freeSlots: number[] = [];
  private slotsUsed = 0;
  private readonly store = new RowStore();
  /**
   * Destinations that are not IPv4 (IPv6 text) as small ids, so rows hold numbers only. Counted per row
   * that uses them and forgotten with their last row: bounded by the rows.
   */
  private readonly dstIds = new Map<string, number>();
  private dstNames: (string | undefined)[] = [];
  private dstRefs = new Int32Array(16);
  private readonly freeDstIds: number[] = [];

  private rowCount = 0;
  /** Rows per day number. */
  private readonly dayRows = new Map<number, number>();
  private tcpSources = 0;
  /** Sources evicted (least recently seen first) to stay within the bounds. */
  evicted = 0;
  /** Rows refused because one source alone already held maxRows rows. */
  droppedRows = 0;
  /** warmV4()'s keys, and the sum of what it read (kept so the reads are not optimized away). */
  private readonly warming = {
    slots: new Int32Array(WARM_MAX),
    dsts: new Int32Array(WARM_MAX),
    metas: new Int32Array(WARM_MAX),
    days: new Int32Array(WARM_MAX),
  };
  warmth = 0;

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

  /**
   * The capture fast path, straight from the decoder: one TCP connection attempt (tcp) or UDP datagram
   * from IPv4 `src` to `dst` (unsigned 32-bit), at unix second `tsSec`. The same as add() of the
   * equivalent probe event, without building it or any address text.
   */
  addV4(tcp: boolean, dport: number, dst: number, src: number, tsSec: number): boolean {
    return this.put(src | 0, dst | 0, undefined, tcp ? 0 : 1, dport, tsSec, tsSec, 1);
  }

  /**
   * Before addV4() of these n attempts (a DailyQueue's, `kind` 0 TCP, 1 UDP, other: not IPv4, skipped):
   * reads the rows they will look up, all at once, so those lookups hit the cache (RowStore.warm).
   */
  warmV4(
    kind: Uint8Array,
    port: Int32Array,
    dst: Int32Array,
    src: Int32Array,
    sec: Float64Array,
    n: number,
  ): void {
    const w = this.warming;
    let k = 0;
    for (let i = 0; i < n; i++) {
      const slot = kind[i]! > 1 ? undefined : this.sources.get(src[i]!);
      if (slot === undefined) continue; // a new source: its rows are new too
      w.slots[k] = slot;
      w.dsts[k] = dst[i]!;
      w.metas[k] = (kind[i]! << 17) | port[i]!;
      w.days[k++] = Math.floor(sec[i]! / 86400);
    }
    this.warmth = this.store.warm(w.slots, w.dsts, w.metas, w.days, k);
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
    const d4 = v4Key(dst);
    return this.put(
      v4Key(src) ?? src,
      d4 ?? 0,
      d4 === undefined ? dst : undefined,
      protoCode(proto),
      dstPort ?? NO_PORT,
      first,
      last,
      count,
    );
  }

  private put(
    key: SrcKey,
    dst: number,
    dstText: string | undefined,
    code: number,
    port: number,
    first: number,
    last: number,
    count: number,
  ): boolean {
    let slot = this.sources.get(key);
    if (slot === undefined) {
      // Evict before inserting, so the new source itself can never be the victim.
      if (this.sources.size >= this.maxSources) this.evictOldest();
      slot = this.newSlot();
      this.sources.set(key, slot);
    } else this.sFlags[slot] = this.sFlags[slot]! | F_SEEN;
    if (code === 0 && (this.sFlags[slot]! & F_TCP) === 0) {
      this.sFlags[slot] = this.sFlags[slot]! | F_TCP;
      this.tcpSources++;
    }
    const dayNum = Math.floor(first / 86400);
    const dayStart = dayNum * 86400;
    first -= dayStart;
    last -= dayStart;
    const meta = (code << 17) | port | (dstText === undefined ? 0 : TEXT_DST);
    if (dstText !== undefined) dst = this.dstIds.get(dstText) ?? this.newDstId(dstText);
    const found = this.store.find(slot, dst, meta, dayNum);
    if (found !== NONE) {
      this.store.merge(found, first, last, count);
      return true;
    }
    if (this.sRows[slot]! >= this.maxRows) {
      this.droppedRows++;
      if (dstText !== undefined && this.dstRefs[dst] === 0) this.unrefDst(dst);
      return false;
    }
    if (dstText !== undefined) this.dstRefs[dst] = this.dstRefs[dst]! + 1;
    this.store.insert(slot, dst, meta, dayNum, first, last, count);
    this.sRows[slot] = this.sRows[slot]! + 1;
    this.rowCount++;
    this.countDay(dayNum, 1);
    while (this.rowCount > this.maxRows && this.sources.size > 1) this.evictOldest();
    return true;
  }

  private newSlot(): number {
    let s = this.freeSlots.pop();
    if (s === undefined) {
      s = this.slotsUsed++;
      if (s >= this.sFlags.length) {
        const n = this.sFlags.length * 2;
        const f = new Uint8Array(n);
        f.set(this.sFlags);
        this.sFlags = f;
        const c = new Int32Array(n);
        c.set(this.sRows);
        this.sRows = c;
      }
    }
    this.sFlags[s] = 0;
    this.sRows[s] = 0;
    this.store.clearSlot(s);
    return s;
  }

  /** A new id for a text destination; the rows that use it are counted in dstRefs. */
  private newDstId(text: string): number {
    const id = this.freeDstIds.pop() ?? this.dstNames.length;
    if (id >= this.dstRefs.length) {
      const r = new Int32Array(this.dstRefs.length * 2);
      r.set(this.dstRefs);
      this.dstRefs = r;
    }
    this.dstNames[id] = text;
    this.dstIds.set(text, id);
    this.dstRefs[id] = 0;
    return id;
  }

  /** Counts one row less for a text destination; forgets the destination with its last row. */
  private unrefDst(id: number): void {
    const n = Math.max(0, this.dstRefs[id]! - 1);
    this.dstRefs[id] = n;
    if (n > 0) return;
    this.dstIds.delete(this.dstNames[id]!);
    this.dstNames[id] = undefined;
    this.freeDstIds.push(id);
  }

  /** Deletes row r (after `prev` in its source's list) and counts it out. */
  private dropRow(slot: number, r: number, prev: number): void {
    if (this.store.meta(r) & TEXT_DST) this.unrefDst(this.store.dst(r));
    this.countDay(this.store.day(r), -1);
    this.store.remove(r, prev);
    this.sRows[slot] = this.sRows[slot]! - 1;
    this.rowCount--;
  }

  /**
   * Second chance (CLOCK), the classic cheap approximation of least-recently-used: a source seen again is
   * only flagged (no reordering on the hot path); here, flagged sources at the old end get their flag
   * cleared and go to the recent end, and the first unflagged one is evicted. Each pass over a source
   * clears its flag, so this ends within one walk of the map.
   */
  private evictOldest(): void {
    let victim: SrcKey | undefined;
    for (const [key, slot] of this.sources) {
      if ((this.sFlags[slot]! & F_SEEN) === 0) {
        victim = key;
        break;
      }
      this.sFlags[slot] = this.sFlags[slot]! & ~F_SEEN;
      this.sources.delete(key);
      this.sources.set(key, slot);
    }
    if (victim === undefined) return;
    this.removeSource(victim);
    this.evicted++;
    this.onEvict?.();
  }

  private removeSource(key: SrcKey): void {
    const slot = this.sources.get(key);
    if (slot === undefined) return;
    this.sources.delete(key);
    for (let r = this.store.newest(slot); r !== NONE; r = this.store.newest(slot))
      this.dropRow(slot, r, NONE);
    if (this.sFlags[slot]! & F_TCP) this.tcpSources--;
    this.freeSlots.push(slot);
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
    for (const key of this.sources.keys()) this.rowsOf(key, day, out);
    return out;
  }

  /**
   * All rows (or one day's) as rows() orders them, in arrays of about `size` rows: a caller that formats
   * and drops each chunk never holds millions of row objects at once (analyze --json on big files).
   * Do not add rows while iterating.
   */
  *chunks(day?: string, size = 10_000): Generator<DailyRow[]> {
    let out: DailyRow[] = [];
    for (const key of this.sources.keys()) {
      this.rowsOf(key, day, out);
      if (out.length >= size) {
        yield out;
        out = [];
      }
    }
    if (out.length > 0) yield out;
  }

  /**
   * Calls `fn` with the fields of every row, in rows() order, without making row objects (the strings
   * passed are shared: one per source, destination, day and protocol). Yields after about every `size`
   * rows, so a writer can wait for its output between pieces. Do not add rows while iterating.
   */
  *visit(fn: RowVisitor, size = 10_000): Generator<void> {
    const keys = [...this.sources.keys()];
    const lists: number[][] = Array.from({ length: WALK }, () => []);
    const cur = new Int32Array(WALK);
    let n = 0;
    for (let b = 0; b < keys.length; b += WALK) {
      const m = Math.min(WALK, keys.length - b);
      for (let k = 0; k < m; k++) {
        lists[k]!.length = 0;
        cur[k] = this.store.newest(this.sources.get(keys[b + k]!)!);
      }
      // The rows of WALK sources are collected in step: each list is a chain of dependent loads that
      // miss the cache, but the chains are independent, so the CPU overlaps their misses.
      for (let live = m; live > 0;) {
        live = 0;
        for (let k = 0; k < m; k++) {
          const r = cur[k]!;
          if (r === NONE) continue;
          lists[k]!.push(r);
          cur[k] = this.store.next(r);
          live++;
        }
      }
      for (let k = 0; k < m; k++) n += this.emit(keys[b + k]!, lists[k]!, undefined, fn);
      if (n >= size) {
        yield;
        n = 0;
      }
    }
  }

  /** Appends the rows of one source (of one day, or all) to `out`; returns how many it added. */
  private rowsOf(key: SrcKey, day: string | undefined, out: DailyRow[]): number {
    return this.visitSource(key, day, (d, proto, port, dst, src, first, last, count) =>
      out.push({
        day: d,
        proto,
        dst_port: port,
        dst_ip: dst,
        src_ip: src,
        first_seen: first,
        last_seen: last,
        count,
      }),
    );
  }

  /**
   * The rows of one source (of one day, or all); returns how many. Rows come grouped by destination (in
   * the order the source first hit each), in insertion order within a group.
   */
  private visitSource(key: SrcKey, day: string | undefined, fn: RowVisitor): number {
    const slot = this.sources.get(key);
    if (slot === undefined) return 0;
    const list: number[] = [];
    for (let r = this.store.newest(slot); r !== NONE; r = this.store.next(r)) list.push(r);
    return this.emit(key, list, day, fn);
  }

  /** Emits the rows of one source from its list (newest first), in the order visitSource documents. */
  private emit(key: SrcKey, list: number[], day: string | undefined, fn: RowVisitor): number {
    let n = 0;
    const src = keyText(key);
    const onlyDay = day === undefined ? NONE : Math.floor(Date.parse(`${day}T00:00:00Z`) / 86400_000);
    const st = this.store;
    const add = (r: number): void => {
      const dayNum = st.day(r);
      if (day !== undefined && dayNum !== onlyDay) return;
      const meta = st.meta(r);
      const port = meta & 0x1ffff;
      const dayStart = dayNum * 86400;
      n++;
      fn(
        utcDay(dayStart),
        PROTO_NAMES[(meta >> 17) & 0x7f]!,
        port === NO_PORT ? null : port,
        meta & TEXT_DST ? this.dstNames[st.dst(r)]! : dstText(st.dst(r)),
        src,
        dayStart + st.first(r),
        dayStart + st.last(r),
        st.count(r),
      );
    };
    // The list is newest first: oldest first is insertion order.
    list.reverse();
    // The common case: every row to one destination (no grouping to do).
    let oneDst = true;
    for (let i = 1; i < list.length; i++)
      if (this.dstOf(list[i]!) !== this.dstOf(list[0]!)) {
        oneDst = false;
        break;
      }
    if (oneDst) for (const r of list) add(r);
    else {
      const groups = new Map<SrcKey, number[]>();
      for (const r of list) {
        const k = this.dstOf(r);
        const g = groups.get(k);
        if (g) g.push(r);
        else groups.set(k, [r]);
      }
      for (const g of groups.values()) for (const r of g) add(r);
    }
    return n;
  }

  private dstOf(r: number): SrcKey {
    return this.store.meta(r) & TEXT_DST ? this.dstNames[this.store.dst(r)]! : this.store.dst(r);
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
    for (const [key, slot] of [...this.sources]) {
      let prev = NONE;
      for (let r = this.store.newest(slot); r !== NONE;) {
        const next = this.store.next(r);
        if (this.store.day(r) < limit) this.dropRow(slot, r, prev);
        else prev = r;
        r = next;
      }
      if (this.sRows[slot] === 0) this.removeSource(key);
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
      // formatRow() without the row object.
      const line: RowVisitor = (_d, proto, port, dst, src, first, last, count) => {
        chunk += `${proto} ${port ?? '-'} ${dst} ${src} ${first} ${last} ${count}\n`;
      };
      for (let i = 0; i < srcs.length; i++) {
        written += this.visitSource(srcs[i]!, day, line);
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
