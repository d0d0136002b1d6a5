// The rows of the daily table (src/daily/table.ts) in one flat Int32Array, as an open-addressing
// hash table (linear probing) keyed by (source slot, destination, meta, day). Why by hand: the table is
// updated for every connection attempt and datagram and holds millions of rows; a row found costs one
// cache miss here (the row is its own hash entry, 32 bytes), where a Map of row objects costs several
// plus the garbage collector's work of keeping millions of objects. Each source's rows also form a list
// (newest first) so a source can be listed and evicted without a scan.
const NONE = -1;
/**
 * A row's O_SRC is its source slot + 1, so an empty row is all zeros: a new array needs no fill pass
 * (filling a fresh array of 100+ MB touches every page once more at each growth, a third of the table's time).
 */
const EMPTY = 0;
/** A deleted row: lookups go on past it, inserts may reuse it. */
const TOMB = -1;
/** Int32 fields per row. */
const ROW = 8;
const O_SRC = 0;
const O_DST = 1;
const O_META = 2;
const O_DAY = 3;
/** First and last seen, seconds into the UTC day. */
const O_FIRST = 4;
const O_LAST = 5;
/** The count's low 32 bits (unsigned); any higher part is in `over` (only a CSV line can get there). */
const O_COUNT = 6;
/** The next (older) row of the same source. */
const O_NEXT = 7;
const TWO32 = 2 ** 32;
/** Rebuilt (grown) when live rows and tombstones fill this share of the slots. */
const MAX_LOAD = 0.7;

export const NO_ROW = NONE;

export class RowStore {
  private R: Int32Array;
  private mask: number;
  /** Live rows plus tombstones. */
  private used = 0;
  private live = 0;
  /** Where insert() puts the row that the last find() missed. */
  private insertAt = 0;
  /** High parts of counts past 2^32, by the row's identity (which, unlike its index, never moves). */
  private readonly over = new Map<string, number>();
  /** Per source slot: its newest row. */
  private head = new Int32Array(64).fill(NONE);

  constructor() {
    this.R = new Int32Array(1024 * ROW);
    this.mask = 1023;
  }

  get size(): number {
    return this.live;
  }

  private static hash(slot: number, dst: number, meta: number, day: number): number {
    let h =
      Math.imul(slot, 0x9e3779b1) ^ Math.imul(dst, 0x85ebca6b) ^ Math.imul(meta ^ (day << 8), 0xc2b2ae35);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    return h ^ (h >>> 13);
  }

  /**
   * Reads the first row each key's lookup will read, all at once: these loads do not depend on each other,
   * so the CPU overlaps their cache misses, and the find() that follows hits the cache (a lookup in a table
   * of millions of rows otherwise waits for memory, one miss at a time). Keys as find() takes them, in
   * parallel arrays; returns a value only so that the reads are not optimized away.
   */
  warm(slots: Int32Array, dsts: Int32Array, metas: Int32Array, days: Int32Array, n: number): number {
    const R = this.R;
    const mask = this.mask;
    let sum = 0;
    for (let k = 0; k < n; k++)
      sum = (sum + R[(RowStore.hash(slots[k]! + 1, dsts[k]!, metas[k]!, days[k]!) & mask) * ROW]!) | 0;
    return sum;
  }

  /** The row with this key, or NO_ROW (and then insert() may add it). */
  find(slot: number, dst: number, meta: number, day: number): number {
    const R = this.R;
    const mask = this.mask;
    const src = slot + 1;
    let tomb = NONE;
    for (let i = RowStore.hash(src, dst, meta, day) & mask; ; i = (i + 1) & mask) {
      const o = i * ROW;
      const s = R[o + O_SRC]!;
      if (s === EMPTY) {
        this.insertAt = tomb === NONE ? i : tomb;
        return NONE;
      }
      if (s === TOMB) {
        if (tomb === NONE) tomb = i;
      } else if (s === src && R[o + O_DST] === dst && R[o + O_META] === meta && R[o + O_DAY] === day)
        return i;
    }
  }

  /** Adds the row find() just missed, as the newest of its source. */
  insert(
    slot: number,
    dst: number,
    meta: number,
    day: number,
    first: number,
    last: number,
    count: number,
  ): number {
    let i = this.insertAt;
    if (this.R[i * ROW + O_SRC] === EMPTY) {
      if (this.used + 1 > (this.mask + 1) * MAX_LOAD) {
        this.rebuild();
        i = this.emptyFor(slot, dst, meta, day);
      }
      this.used++;
    }
    this.live++;
    const o = i * ROW;
    const R = this.R;
    R[o + O_SRC] = slot + 1;
    R[o + O_DST] = dst;
    R[o + O_META] = meta;
    R[o + O_DAY] = day;
    R[o + O_FIRST] = first;
    R[o + O_LAST] = last;
    R[o + O_COUNT] = 0;
    R[o + O_NEXT] = this.head[slot]!;
    this.head[slot] = i;
    this.addCount(i, count);
    return i;
  }

  /** Widens the row's first/last and adds to its count. */
  merge(r: number, first: number, last: number, count: number): void {
    const o = r * ROW;
    const R = this.R;
    if (first < R[o + O_FIRST]!) R[o + O_FIRST] = first;
    if (last > R[o + O_LAST]!) R[o + O_LAST] = last;
    this.addCount(r, count);
  }

  private addCount(r: number, count: number): void {
    const o = r * ROW + O_COUNT;
    const c = (this.R[o]! >>> 0) + count;
    if (c < TWO32) {
      this.R[o] = c | 0;
      return;
    }
    const hi = Math.floor(c / TWO32);
    const k = this.identity(r);
    this.over.set(k, (this.over.get(k) ?? 0) + hi);
    this.R[o] = (c - hi * TWO32) | 0;
  }

  private identity(r: number): string {
    const o = r * ROW;
    return `${this.R[o + O_SRC]} ${this.R[o + O_DST]} ${this.R[o + O_META]} ${this.R[o + O_DAY]}`;
  }

  count(r: number): number {
    const low = this.R[r * ROW + O_COUNT]! >>> 0;
    return this.over.size === 0 ? low : low + (this.over.get(this.identity(r)) ?? 0) * TWO32;
  }
  meta(r: number): number {
    return this.R[r * ROW + O_META]!;
  }
  day(r: number): number {
    return this.R[r * ROW + O_DAY]!;
  }
  dst(r: number): number {
    return this.R[r * ROW + O_DST]!;
  }
  first(r: number): number {
    return this.R[r * ROW + O_FIRST]!;
  }
  last(r: number): number {
    return this.R[r * ROW + O_LAST]!;
  }

  /** The source's newest row, then next() to older ones; NO_ROW at the end. */
  newest(slot: number): number {
    return this.head[slot]!;
  }
  next(r: number): number {
    return this.R[r * ROW + O_NEXT]!;
  }

  /** A new or reused source slot starts with no rows. */
  clearSlot(slot: number): void {
    if (slot >= this.head.length) {
      const h = new Int32Array(Math.max(slot + 1, this.head.length * 2)).fill(NONE);
      h.set(this.head);
      this.head = h;
    }
    this.head[slot] = NONE;
  }

  /** Deletes row r, which follows `prev` (NO_ROW: r is the newest) in its source's list. */
  remove(r: number, prev: number): void {
    const o = r * ROW;
    const R = this.R;
    const next = R[o + O_NEXT]!;
    if (prev === NONE) this.head[R[o + O_SRC]! - 1] = next;
    else R[prev * ROW + O_NEXT] = next;
    if (this.over.size > 0) this.over.delete(this.identity(r));
    // Before an empty slot no probe sequence goes on: the row can become empty instead of a tombstone.
    if (R[((r + 1) & this.mask) * ROW + O_SRC] === EMPTY) {
      R[o + O_SRC] = EMPTY;
      this.used--;
    } else R[o + O_SRC] = TOMB;
    this.live--;
  }

  private emptyFor(slot: number, dst: number, meta: number, day: number): number {
    let i = RowStore.hash(slot + 1, dst, meta, day) & this.mask;
    while (this.R[i * ROW + O_SRC] !== EMPTY) i = (i + 1) & this.mask;
    return i;
  }

  /**
   * Re-inserts every live row into a fresh array (twice the size unless most of the old one was
   * tombstones). Rows are read in array order (sequential, cache-friendly), then the source lists are
   * relinked through an old -> new index map, so each keeps its order.
   */
  private rebuild(): void {
    const old = this.R;
    const oldCap = this.mask + 1;
    let cap = oldCap;
    if ((this.live + 1) / cap > MAX_LOAD / 2) cap *= 2;
    const R = new Int32Array(cap * ROW);
    const mask = cap - 1;
    const moved = new Int32Array(oldCap);
    for (let r = 0; r < oldCap; r++) {
      const o = r * ROW;
      if (old[o + O_SRC]! <= EMPTY) continue;
      let i = RowStore.hash(old[o + O_SRC]!, old[o + O_DST]!, old[o + O_META]!, old[o + O_DAY]!) & mask;
      while (R[i * ROW + O_SRC] !== EMPTY) i = (i + 1) & mask;
      const n = i * ROW;
      for (let k = 0; k < ROW; k++) R[n + k] = old[o + k]!;
      moved[r] = i;
    }
    for (let i = 0; i < cap; i++) {
      const n = i * ROW + O_NEXT;
      if (R[i * ROW + O_SRC] !== EMPTY && R[n] !== NONE) R[n] = moved[R[n]!]!;
    }
    for (let slot = 0; slot < this.head.length; slot++)
      if (this.head[slot] !== NONE) this.head[slot] = moved[this.head[slot]!]!;
    this.R = R;
    this.mask = mask;
    this.used = this.live;
  }
}
