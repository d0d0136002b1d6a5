// One scan episode of one source: what it counted, whether and how it was reported, and its scan event.
import { randomUUID } from 'node:crypto';
import type { ScanEvent, Tag } from '../core/events.js';
import { nowIso } from '../core/events.js';
import { EpisodeCounter } from './distinct.js';
import { bestTool } from './fingerprint.js';
import type { KindTally } from './probe-types.js';

export class Episode {
  readonly id = randomUUID();
  probes = 0;
  readonly ports = new EpisodeCounter();
  readonly hosts = new EpisodeCounter();
  /** When the last event was sent or, while unreported, the alert budget was last asked. */
  lastTry: number;
  /** Signature of the last event sent ('' before the first). */
  emitted = '';
  /** An event of this episode was sent (its open): updates and the close follow without budget. */
  reported = false;
  /** The alert budget refused it at least once (counted once). */
  suppressed = false;
  /** Handshake evidence as last judged (a change is sent at once). */
  proven = false;

  constructor(
    public kind: ScanEvent['kind'],
    /** Start of the source's activity (first_seen). */
    readonly first: number,
    /** When it was opened: handshake evidence counts from --handshake-window before this. */
    readonly opened: number,
    public last: number,
  ) {
    this.lastTry = opened;
  }

  signature(types: KindTally): string {
    return `${this.kind}/${this.ports.count}/${this.hosts.count}/${this.probes}/${this.proven}/${types.mostFrequent()}`;
  }
}

export interface EventContext {
  sensor: string;
  src: string;
  windowSec: number;
  now: number;
  tags: Tag[] | undefined;
}

export function scanEvent(
  ep: Episode,
  types: KindTally,
  state: ScanEvent['state'],
  c: EventContext,
): ScanEvent {
  const ev: ScanEvent = {
    ts: nowIso(state === 'closed' ? Math.max(ep.last, c.now) : ep.last),
    sensor: c.sensor,
    type: 'scan',
    id: ep.id,
    state,
    src: c.src,
    kind: ep.kind,
    probe: types.mostFrequent(),
    probe_types: types.types(),
    ports: ep.ports.count,
    hosts: ep.hosts.count,
    probes: ep.probes,
    window_s: c.windowSec,
    first_seen: nowIso(ep.first),
    last_seen: nowIso(ep.last),
    handshake_completed: ep.proven,
    action: 'logged',
  };
  const tool = bestTool(c.tags);
  if (tool) ev.tool = tool;
  if (c.tags?.length) ev.tags = c.tags.map((t) => ({ ...t })); // the memory's lists are shared and frozen
  return ev;
}
