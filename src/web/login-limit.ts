// Failed logins per address: one address (an IPv6 /64 counts as one) may fail LOGIN_FAILURES_PER_MINUTE
// times in a minute that starts at its first failure; then it is refused (429) until that minute is over. The table is
// bounded: beyond MAX_LOGIN_ADDRESSES the least recently failed address is forgotten (counted).
import { parseAddress, plainAddress } from '../core/addresses.js';
import { addrKey, type Key, Lru } from '../detect/lru.js';

interface Failures {
  start: number;
  count: number;
}

const WINDOW_MS = 60_000;

/** Failed logins an address may make per minute (burst included). */
export const LOGIN_FAILURES_PER_MINUTE = 10;
/** Addresses whose failures are remembered at once. */
export const MAX_LOGIN_ADDRESSES = 10_000;

/** The key of an address: itself for IPv4, its /64 for IPv6 (one host gets a whole /64). */
function addressKey(addr: string): Key {
  const plain = plainAddress(addr);
  const k = addrKey(plain);
  if (typeof k === 'number') return k;
  const b = parseAddress(plain);
  return b && b.length === 16 ? Buffer.from(b.subarray(0, 8)).toString('hex') : plain;
}

export class LoginLimiter {
  private readonly table: Lru<Failures>;
  evicted = 0;

  constructor(private readonly perMinute = LOGIN_FAILURES_PER_MINUTE) {
    this.table = new Lru<Failures>(MAX_LOGIN_ADDRESSES, () => this.evicted++);
  }

  /** True when the address may try a login now (it has failures left). */
  allowed(addr: string, now = Date.now()): boolean {
    const f = this.table.peek(addressKey(addr));
    return !f || now - f.start >= WINDOW_MS || f.count < this.perMinute;
  }

  /** Counts one failed login of the address. */
  failed(addr: string, now = Date.now()): void {
    const key = addressKey(addr);
    let f = this.table.get(key);
    if (!f || now - f.start >= WINDOW_MS) this.table.set(key, (f = { start: now, count: 0 }));
    f.count++;
  }
}
