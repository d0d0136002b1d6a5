// A set of exact addresses matched against packet bytes, for --only-dst and the host's own addresses.
// Parsing, formatting and classification live in core/addresses.ts.
import { parseAddress, v4At } from '../core/addresses.js';

/** A set of exact addresses, matched against packet bytes without allocating. */
export class AddressSet {
  private readonly v4 = new Set<number>();
  private v6: Uint8Array[] = [];

  constructor(addrs: Iterable<string> = []) {
    this.replace(addrs);
  }

  /** Replaces the content; strings that are not addresses are ignored. */
  replace(addrs: Iterable<string>): void {
    this.v4.clear();
    const v6: Uint8Array[] = [];
    for (const a of addrs) {
      const bytes = parseAddress(a);
      if (!bytes) continue;
      if (bytes.length === 4) this.v4.add(v4At(bytes, 0));
      else v6.push(bytes);
    }
    this.v6 = v6;
  }

  get size(): number {
    return this.v4.size + this.v6.length;
  }

  hasV4(b: Uint8Array, o: number): boolean {
    return this.v4.size > 0 && this.v4.has(v4At(b, o));
  }

  hasV6(b: Uint8Array, o: number): boolean {
    // Few addresses (an interface's or an --only-dst list): a linear scan beats hashing 16 bytes.
    outer: for (const a of this.v6) {
      for (let i = 15; i >= 0; i--) if (a[i] !== b[o + i]) continue outer;
      return true;
    }
    return false;
  }

  has(version: number, b: Uint8Array, o: number): boolean {
    return version === 4 ? this.hasV4(b, o) : this.hasV6(b, o);
  }
}
