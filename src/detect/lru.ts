// A bounded least-recently-used map for the per-source tables (1 million entries and more): string keys to
// slots in a Map, recency as a doubly linked list in Int32Arrays that grow by doubling up to `max`.
// Hand-written: a plain Map re-inserted on each touch makes eviction through keys().next() walk deleted
// holes (quadratic, measured 30k events/s), and lru-cache 11 measured 80k events/s in bench/detect.
// Keys are numbers for IPv4 addresses (addrKey): hashing a small integer is cheaper than a fresh string.
import { ipv4ToUint } from '../core/addresses.js';

export type Key = string | number;

/** The table key of an address: the IPv4 address as an int32, else the string itself. */
export function addrKey(addr: string): Key {
  const n = ipv4ToUint(addr);
  return n >= 0 ? n | 0 : addr;
}

/** The key of one connection (src:sport): a 48-bit number for IPv4, else a string. */
export function flowKey(addr: string, sport: number): Key {
  const n = ipv4ToUint(addr);
  return n >= 0 ? n * 65536 + (sport & 0xffff) : `${addr}|${sport}`;
}

export class Lru<V, K extends Key = Key> {
  private readonly index = new Map<K, number>();
  private keys: (K | undefined)[] = [];
  private vals: (V | undefined)[] = [];
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  private head = -1; // least recently used
  private tail = -1; // most recently used
  private readonly free: number[] = [];

  constructor(
    readonly max: number,
    private readonly onEvict?: (key: K, value: V) => void,
  ) {}

  get size(): number {
    return this.index.size;
  }

  /** The value, marked as most recently used. */
  get(key: K): V | undefined {
    const i = this.index.get(key);
    if (i === undefined) return undefined;
    this.toTail(i);
    return this.vals[i];
  }

  /** The value, recency unchanged. */
  peek(key: K): V | undefined {
    const i = this.index.get(key);
    return i === undefined ? undefined : this.vals[i];
  }

  set(key: K, value: V): void {
    let i = this.index.get(key);
    if (i !== undefined) {
      this.vals[i] = value;
      this.toTail(i);
      return;
    }
    if (this.index.size >= this.max) {
      i = this.head;
      const oldKey = this.keys[i]!;
      const oldVal = this.vals[i]!;
      this.unlink(i);
      this.index.delete(oldKey);
      this.onEvict?.(oldKey, oldVal);
    } else i = this.free.pop() ?? this.grow();
    this.keys[i] = key;
    this.vals[i] = value;
    this.index.set(key, i);
    this.linkTail(i);
  }

  /** Every entry, least recently used first, without touching the order. */
  *entries(): IterableIterator<[K, V]> {
    for (let i = this.head; i >= 0; i = this.next[i]!) yield [this.keys[i]!, this.vals[i]!];
  }

  delete(key: K): boolean {
    const i = this.index.get(key);
    if (i === undefined) return false;
    this.unlink(i);
    this.index.delete(key);
    this.keys[i] = undefined;
    this.vals[i] = undefined;
    this.free.push(i);
    return true;
  }

  private grow(): number {
    const used = this.keys.length;
    if (used >= this.prev.length) {
      const cap = Math.min(this.max, Math.max(1024, this.prev.length * 2));
      const p = new Int32Array(cap);
      p.set(this.prev);
      const n = new Int32Array(cap);
      n.set(this.next);
      this.prev = p;
      this.next = n;
    }
    this.keys.push(undefined);
    this.vals.push(undefined);
    return used;
  }

  private unlink(i: number): void {
    const p = this.prev[i]!;
    const n = this.next[i]!;
    if (p >= 0) this.next[p] = n;
    else this.head = n;
    if (n >= 0) this.prev[n] = p;
    else this.tail = p;
  }

  private linkTail(i: number): void {
    this.prev[i] = this.tail;
    this.next[i] = -1;
    if (this.tail >= 0) this.next[this.tail] = i;
    else this.head = i;
    this.tail = i;
  }

  private toTail(i: number): void {
    if (i === this.tail) return;
    this.unlink(i);
    this.linkTail(i);
  }
}
