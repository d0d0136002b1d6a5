// Alert budgets for scan episodes: an alert needs a token from its source's bucket, from its prefix's (/24 for
// IPv4, /48 for IPv6) and from the global one (shared with spikes), so sources an attacker makes up (spoofed,
// or many addresses of one network) spend their own budgets and the global one, not other sources'. Each level
// also keeps a reserve of half its size that only episodes with handshake evidence may draw on, so SYN-only
// episodes (spoofable) can never starve them. docs/detection.md, "Alert budgets".
import { parseAddress } from '../core/addresses.js';
import { Lru, type Key } from './lru.js';
import { RateLimiter } from './rate-limit.js';

export type SuppressReason = 'source' | 'prefix' | 'global';

/** Sources and prefixes whose buckets are remembered (the least recently alerting are forgotten). */
export const BUDGET_KEYS = 65_536;

/** A bucket and its reserve for handshake episodes. */
class Level {
  readonly reserve: RateLimiter;
  constructor(
    perMinute: number,
    now: number,
    readonly shared = new RateLimiter(perMinute, now),
  ) {
    this.reserve = new RateLimiter(Math.max(1, Math.ceil(perMinute / 2)), now);
  }

  /** The bucket this alert would spend, or undefined when both are empty (or the reserve is not its to use). */
  pick(proven: boolean, now: number): RateLimiter | undefined {
    if (this.shared.has(now)) return this.shared;
    return proven && this.reserve.has(now) ? this.reserve : undefined;
  }
}

export interface BudgetRates {
  /** Alerts a minute in total (--max-alerts-per-minute); spikes share the global bucket. */
  global: number;
  perPrefix: number;
  perSource: number;
}

/** Per-prefix and per-source rates from --max-alerts-per-minute: a tenth, and a thirtieth (at least 1). */
export const budgetRates = (perMinute: number): BudgetRates => ({
  global: perMinute,
  perPrefix: Math.max(1, Math.ceil(perMinute / 10)),
  perSource: Math.max(1, Math.ceil(perMinute / 30)),
});

export class AlertBudget {
  private readonly global: Level;
  private readonly prefixes: Lru<Level>;
  private readonly sources: Lru<Level>;

  constructor(
    private readonly rates: BudgetRates,
    now: number,
    /** The global shared bucket when spikes share it; default: its own. */
    shared?: RateLimiter,
  ) {
    this.global = new Level(rates.global, now, shared);
    this.prefixes = new Lru<Level>(BUDGET_KEYS);
    this.sources = new Lru<Level>(BUDGET_KEYS);
  }

  /** Spends one alert of `src` (table key `key`); on refusal nothing is spent and the first empty level is named. */
  take(src: string, key: Key, proven: boolean, now: number): SuppressReason | undefined {
    const source = this.level(this.sources, key, this.rates.perSource, now);
    const prefix = this.level(this.prefixes, prefixKey(src, key), this.rates.perPrefix, now);
    const a = source.pick(proven, now);
    if (!a) return 'source';
    const b = prefix.pick(proven, now);
    if (!b) return 'prefix';
    const c = this.global.pick(proven, now);
    if (!c) return 'global';
    a.take(now);
    b.take(now);
    c.take(now);
    return undefined;
  }

  private level(table: Lru<Level>, key: Key, perMinute: number, now: number): Level {
    let l = table.get(key);
    if (!l) table.set(key, (l = new Level(perMinute, now)));
    return l;
  }
}

/** The /24 of an IPv4 address (also IPv4-mapped IPv6), the /48 of an IPv6 address, as a table key. */
export function prefixKey(src: string, key: Key): Key {
  if (typeof key === 'number') return key >>> 8;
  const b = parseAddress(src);
  if (!b) return src; // not an address: its own prefix
  if (b.length === 4) return ((b[0]! << 16) | (b[1]! << 8) | b[2]!) >>> 0;
  const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (mapped) return ((b[12]! << 16) | (b[13]! << 8) | b[14]!) >>> 0;
  return `${(b[0]! << 8) | b[1]!}:${(b[2]! << 8) | b[3]!}:${(b[4]! << 8) | b[5]!}`;
}
