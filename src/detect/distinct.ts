// Compact distinct counting for the scan detector: a sliding window of a few recent keys per source, and a
// per-episode counter that is exact while small and becomes a fixed-size bitmap estimate when large.

/** FNV-1a 32-bit over a string's UTF-16 code units: a fast hash for addresses (not attacker-resistant; used
 * only to count, where a collision can merely undercount by one). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

// A window entry packs a key of at most 24 bits and a time in whole seconds (29 bits, 17 years from the
// detector's epoch) into one double, so a source's window is one small array of numbers.
const TIME_BITS = 2 ** 29;
export const packEntry = (key24: number, sec: number): number => key24 * TIME_BITS + (sec % TIME_BITS);
const entryKey = (e: number): number => Math.floor(e / TIME_BITS);
const entrySec = (e: number): number => e % TIME_BITS;

let lastNew = false;
/** Whether the key of the last windowAdd was not in the window (a module variable: no result object). */
export const lastAddWasNew = (): boolean => lastNew;

/**
 * Records key at time sec in a sliding window (array of packed entries, at most cap long): entries older
 * than windowSec are dropped, a known key is refreshed, and when full the oldest entry gives way.
 * Returns the window: the same array, or a new one exactly one longer when it grows (a push would reserve
 * 17 slots, and most windows hold one or two entries: ~100 bytes per source saved).
 */
export function windowAdd(
  win: number[],
  key24: number,
  sec: number,
  windowSec: number,
  cap: number,
): number[] {
  let w = 0;
  let found = false;
  for (let r = 0; r < win.length; r++) {
    const e = win[r]!;
    if (sec - entrySec(e) > windowSec) continue;
    if (entryKey(e) === key24) {
      found = true;
      continue; // re-added at the end below
    }
    win[w++] = e;
  }
  lastNew = !found;
  const entry = packEntry(key24, sec);
  if (w < win.length) {
    win.length = w + 1;
    win[w] = entry;
    return win;
  }
  if (w >= cap) {
    win.shift();
    win.push(entry);
    return win;
  }
  return win.concat(entry); // exact length (checked with %DebugPrint: slice()+push reserves 19)
}

/** Distinct keys in the window at time sec. */
export function windowSize(win: readonly number[], sec: number, windowSec: number): number {
  let n = 0;
  for (const e of win) if (sec - entrySec(e) <= windowSec) n++;
  return n;
}

const EXACT_CAP = 128;
const BITMAP_BITS = 16384; // 2 KiB: linear counting within ~2 % up to ~60k distinct keys

/**
 * Distinct count over an episode: an exact Set up to 128 keys, then linear counting (Whang et al. 1990) in a
 * 2 KiB bitmap, so one episode costs at most ~2 KiB per dimension however large the scan.
 */
export class EpisodeCounter {
  private exact: Set<number> | undefined = new Set();
  private bits: Uint8Array | undefined;
  private zeros = BITMAP_BITS;

  add(key32: number): void {
    if (this.exact) {
      this.exact.add(key32);
      if (this.exact.size <= EXACT_CAP) return;
      this.bits = new Uint8Array(BITMAP_BITS / 8);
      const keys = this.exact;
      this.exact = undefined;
      for (const k of keys) this.setBit(k);
      return;
    }
    this.setBit(key32);
  }

  private setBit(key32: number): void {
    // murmur3's fmix32: sequential ports must spread evenly over the bitmap.
    let h = key32 ^ (key32 >>> 16);
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    const bit = (h >>> 0) % BITMAP_BITS;
    const byte = bit >>> 3;
    const mask = 1 << (bit & 7);
    if ((this.bits![byte]! & mask) === 0) {
      this.bits![byte]! |= mask;
      this.zeros--;
    }
  }

  get count(): number {
    if (this.exact) return this.exact.size;
    const z = Math.max(this.zeros, 1);
    return Math.round(BITMAP_BITS * Math.log(BITMAP_BITS / z));
  }
}
