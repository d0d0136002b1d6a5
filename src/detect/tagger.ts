// Remembers the fingerprints of recent connection attempts, per source and per src:sport, in bounded maps,
// so that session events (written later by the sinks) and scan events carry the tags of their SYNs.
import type { ProbeEvent, SessionEvent, Tag } from '../core/events.js';
import type { Stats } from '../core/stats.js';
import { fingerprintProbe, mergeTags } from './fingerprint.js';
import { addrKey, flowKey, Lru } from './lru.js';

/** Sources whose tags are remembered at most (least recently tagged evicted). */
export const MAX_TAGGED_SOURCES = 200_000;
/** src:sport pairs remembered at most: only needs to outlive one session. */
export const MAX_TAGGED_FLOWS = 65_536;

/**
 * Tag lists are few and repeat (one per rule outcome): they are interned, so 200,000 remembered sources
 * share a handful of frozen arrays instead of holding one each (~150 bytes saved per entry).
 */
const MAX_INTERNED = 4096;
const interned = new Map<string, readonly Tag[]>();
// Fast path for the usual one-tag list: a numeric key (name id, confidence in hundredths), no string built.
const nameIds = new Map<string, number>();
const interned1 = new Map<number, readonly Tag[]>();
function intern(tags: Tag[]): Tag[] {
  if (tags.length === 1) {
    const t = tags[0]!;
    let id = nameIds.get(t.name);
    if (id === undefined && nameIds.size < MAX_INTERNED) nameIds.set(t.name, (id = nameIds.size));
    if (id !== undefined) {
      const k = id * 1000 + Math.round(t.confidence * 100);
      const known = interned1.get(k);
      if (known) return known as Tag[];
      const frozen = Object.freeze([Object.freeze({ ...t })]);
      interned1.set(k, frozen);
      return frozen as Tag[];
    }
  }
  let key = '';
  for (const t of tags) key += `${t.name}:${t.confidence};`;
  const known = interned.get(key);
  if (known) return known as Tag[];
  if (interned.size >= MAX_INTERNED) return tags;
  const frozen = Object.freeze(tags.map((t) => Object.freeze({ ...t })));
  interned.set(key, frozen);
  return frozen as Tag[];
}

/**
 * What a source's packets said: tags ordered by evidence (packets that carried the tag × its best
 * confidence), so one packet matching masscan's formula by chance among a hundred nmap packets does not
 * rename the tool. `tags` is an interned list; `hits` runs parallel to it.
 */
interface SourceTags {
  tags: Tag[];
  hits: number[];
}

const MAX_TAGS = 4;

export class FingerprintMemory {
  private readonly bySource: Lru<SourceTags>;
  private readonly byFlow: Lru<Tag[]>;

  constructor(stats?: Stats, maxSources = MAX_TAGGED_SOURCES, maxFlows = MAX_TAGGED_FLOWS) {
    this.bySource = new Lru<SourceTags>(maxSources, () => stats?.inc('tagger_sources_evicted_total'));
    this.byFlow = new Lru<Tag[]>(maxFlows);
  }

  get sources(): number {
    return this.bySource.size;
  }

  /** Fingerprints a capture probe and remembers its tags; returns them. */
  observe(p: ProbeEvent): Tag[] {
    const found = fingerprintProbe(p);
    if (found.length === 0) return found;
    const tags = intern(found);
    const key = addrKey(p.src);
    const known = this.bySource.get(key);
    if (!known) {
      this.bySource.set(key, { tags, hits: tags.map(() => 1) });
      return tags;
    }
    if (this.accumulate(known, tags)) known.tags = intern(known.tags);
    // A connection whose SYN says the same as its source needs no entry of its own (forSession falls back
    // to the source): a source sending one tool's packets costs no per-flow state.
    if (tags !== known.tags) this.byFlow.set(flowKey(p.src, p.sport), tags);
    return tags;
  }

  /** Counts the tags of one packet into a source's; true when the list changed (then a fresh array). */
  private accumulate(k: SourceTags, tags: Tag[]): boolean {
    let list = k.tags;
    let copied = false;
    const edit = (): Tag[] => (copied ? list : ((copied = true), (list = list.slice())));
    for (const t of tags) {
      const i = list.findIndex((x) => x.name === t.name);
      if (i < 0) {
        if (list.length >= MAX_TAGS) continue;
        edit().push(t);
        k.hits.push(1);
      } else {
        k.hits[i]!++;
        if (list[i]!.confidence < t.confidence) edit()[i] = t;
      }
    }
    // Keep the order by evidence (insertion sort: at most 4 entries, nearly always already in order).
    const score = (i: number): number => k.hits[i]! * list[i]!.confidence;
    for (let i = 1; i < list.length; i++)
      for (let j = i; j > 0 && score(j) > score(j - 1); j--) {
        const l = edit();
        [l[j], l[j - 1]] = [l[j - 1]!, l[j]!];
        [k.hits[j], k.hits[j - 1]] = [k.hits[j - 1]!, k.hits[j]!];
      }
    if (copied) k.tags = list;
    return copied;
  }

  /** The source's tags, most likely first. */
  forSource(src: string): Tag[] | undefined {
    return this.bySource.peek(addrKey(src))?.tags;
  }

  /** Tags of one connection: its own SYN's first, else what its source sent lately. */
  forSession(src: string, sport: number): Tag[] | undefined {
    return this.byFlow.peek(flowKey(src, sport)) ?? this.bySource.peek(addrKey(src))?.tags;
  }

  /** Adds tags to a session event in place (before the sinks see it). */
  tagSession(ev: SessionEvent): void {
    const tags = this.forSession(ev.src, ev.sport);
    if (tags?.length) ev.tags = mergeTags(ev.tags, tags).map((t) => ({ ...t })); // sinks get their own copies
  }
}
