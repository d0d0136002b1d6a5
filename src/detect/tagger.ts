// Remembers the fingerprints of recent connection attempts, per source and per src:sport, in bounded maps,
// so that session events (written later by the sinks) and scan events carry the tags of their SYNs.
import type { ProbeEvent, SessionEvent, Tag } from '../core/events.js';
import type { Stats } from '../core/stats.js';
import { fingerprintProbe, mergeTags } from './fingerprint.js';

/** Sources whose tags are remembered at most (least recently tagged evicted). */
export const MAX_TAGGED_SOURCES = 200_000;
/** src:sport pairs remembered at most: only needs to outlive one session. */
export const MAX_TAGGED_FLOWS = 65_536;

export class FingerprintMemory {
  private readonly bySource = new Map<string, Tag[]>();
  private readonly byFlow = new Map<string, Tag[]>();

  constructor(
    private readonly stats?: Stats,
    private readonly maxSources = MAX_TAGGED_SOURCES,
    private readonly maxFlows = MAX_TAGGED_FLOWS,
  ) {}

  get sources(): number {
    return this.bySource.size;
  }

  /** Fingerprints a capture probe and remembers its tags; returns them. */
  observe(p: ProbeEvent): Tag[] {
    const tags = fingerprintProbe(p);
    if (tags.length === 0) return tags;
    const known = this.bySource.get(p.src);
    if (known) this.bySource.delete(p.src);
    else if (this.bySource.size >= this.maxSources) {
      this.bySource.delete(this.bySource.keys().next().value as string);
      this.stats?.inc('tagger_sources_evicted_total');
    }
    this.bySource.set(p.src, mergeTags(known, tags));
    const flow = `${p.src}|${p.sport}`;
    if (!this.byFlow.has(flow) && this.byFlow.size >= this.maxFlows) {
      this.byFlow.delete(this.byFlow.keys().next().value as string);
    }
    this.byFlow.set(flow, tags);
    return tags;
  }

  forSource(src: string): Tag[] | undefined {
    return this.bySource.get(src);
  }

  /** Tags of one connection: its own SYN's first, else what its source sent lately. */
  forSession(src: string, sport: number): Tag[] | undefined {
    return this.byFlow.get(`${src}|${sport}`) ?? this.bySource.get(src);
  }

  /** Adds tags to a session event in place (before the sinks see it). */
  tagSession(ev: SessionEvent): void {
    const tags = this.forSession(ev.src, ev.sport);
    if (tags?.length) ev.tags = mergeTags(ev.tags, tags);
  }
}
