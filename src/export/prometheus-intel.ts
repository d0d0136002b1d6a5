// The labelled Prometheus counters of intelligence: sessions by app (a closed set) and by tag (at most
// MAX_TAG_LABELS names, then "other"), campaign events by kind.
import { Counter, type Registry } from 'prom-client';
import type { EventBus } from '../core/bus.js';
import { APPS } from '../intel/protocol.js';
import { PREFIX } from './prometheus-events.js';

/** Distinct tag label values at most: shipped rules name a few hundred; later new names count as "other". */
export const MAX_TAG_LABELS = 256;
const APP_SET: ReadonlySet<string> = new Set(APPS);

/** A labelled counter whose counts are kept in a Map and handed to prom-client only when scraped. */
function collected(registry: Registry, name: string, help: string, label: string): Map<string, number> {
  const counts = new Map<string, number>();
  new Counter({
    name: PREFIX + name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset();
      for (const [value, n] of counts) this.inc({ [label]: value }, n);
    },
  });
  return counts;
}

const bump = (counts: Map<string, number>, key: string): void => {
  counts.set(key, (counts.get(key) ?? 0) + 1);
};

export class IntelMetrics {
  // Counted per session in plain Maps: prom-client's labelled inc() cost about a microsecond a session.
  private readonly apps: Map<string, number>;
  private readonly tags: Map<string, number>;
  private readonly campaigns: Counter;
  private readonly tagNames = new Set<string>();

  constructor(registry: Registry) {
    this.apps = collected(
      registry,
      'session_apps_total',
      'Sessions by the protocol their first bytes speak',
      'app',
    );
    this.tags = collected(
      registry,
      'session_tags_total',
      `Sessions carrying each tag (rule tags, benign:<org>, fingerprints); at most ${MAX_TAG_LABELS} names, then "other"`,
      'tag',
    );
    this.campaigns = new Counter({
      name: PREFIX + 'campaigns_total',
      help: 'Campaign events, by kind (new, spike)',
      labelNames: ['kind'],
      registers: [registry],
    });
  }

  subscribe(bus: EventBus): (() => void)[] {
    return [
      bus.on('session', (s) => {
        if (s.app) bump(this.apps, APP_SET.has(s.app) ? s.app : 'unknown');
        if (s.tags) for (const t of s.tags) bump(this.tags, this.tagLabel(t.name));
      }),
      bus.on('campaign', (c) => this.campaigns.inc({ kind: c.kind === 'spike' ? 'spike' : 'new' })),
    ];
  }

  private tagLabel(name: string): string {
    const t = name
      .toLowerCase()
      .replace(/[^a-z0-9_.:-]/g, '_')
      .slice(0, 64);
    if (this.tagNames.has(t)) return t;
    if (this.tagNames.size >= MAX_TAG_LABELS) return 'other';
    this.tagNames.add(t);
    return t;
  }
}
