// The labelled Prometheus counters of intelligence: sessions by app (a closed set) and by tag (at most
// MAX_TAG_LABELS names, then "other"), campaign events by kind.
import { Counter, type Registry } from 'prom-client';
import type { EventBus } from '../core/bus.js';
import { APPS } from '../intel/protocol.js';
import { PREFIX } from './prometheus-events.js';

/** Distinct tag label values at most: shipped rules name a few hundred; later new names count as "other". */
export const MAX_TAG_LABELS = 256;
const APP_SET: ReadonlySet<string> = new Set(APPS);

export class IntelMetrics {
  private readonly apps: Counter;
  private readonly tags: Counter;
  private readonly campaigns: Counter;
  private readonly tagNames = new Set<string>();

  constructor(registry: Registry) {
    const counter = (name: string, help: string, labelNames: string[]) =>
      new Counter({ name: PREFIX + name, help, labelNames, registers: [registry] });
    this.apps = counter('session_apps_total', 'Sessions by the protocol their first bytes speak', ['app']);
    this.tags = counter(
      'session_tags_total',
      `Sessions carrying each tag (rule tags, benign:<org>, fingerprints); at most ${MAX_TAG_LABELS} names, then "other"`,
      ['tag'],
    );
    this.campaigns = counter('campaigns_total', 'Campaign events, by kind (new, spike)', ['kind']);
  }

  subscribe(bus: EventBus): (() => void)[] {
    return [
      bus.on('session', (s) => {
        if (s.app) this.apps.inc({ app: APP_SET.has(s.app) ? s.app : 'unknown' });
        for (const t of s.tags ?? []) this.tags.inc({ tag: this.tagLabel(t.name) });
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
