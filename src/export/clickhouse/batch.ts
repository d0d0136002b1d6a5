// Folds the sensor's events into ClickHouse rows between two shipments, the way the SQLite writer folds them
// into its tables: probes become per-minute counter cells (counter-cells.ts) and daily per-source rows;
// sessions keep a content hash and their payload is sent once per hash and day (an LRU remembers what went
// out); every other event is kept whole as JSON. Rows are written once, as TabSeparated text (tsv.ts), into
// chunks of one table and day (chunks.ts): sessions, payloads, spikes, blocks and other events as they come,
// the folded rows at take().
import { createHash, randomInt } from 'node:crypto';

import type {
  BlockEvent,
  Geo,
  ScanEvent,
  SensorEvent,
  SessionEvent,
  SpikeEvent,
  Tag,
} from '../../core/events.js';
import { joinPayload } from '../../core/payload.js';
import { Lru } from '../../detect/lru.js';
import { CounterCells } from '../../store/counter-cells.js';
import { intelColumn } from '../../store/sqlite/intel-writer.js';
import { type Attempt, type GeoLookup, respondColumn } from '../../store/sqlite/writer.js';
import { type BatchIds, type Chunk, Chunker } from './chunks.js';
import { float, text, texts, uint } from './tsv.js';

const DAY_MS = 86_400_000;
/** Payload hashes remembered as sent (per sensor). */
export const PAYLOAD_LRU = 100_000;
/** Session fields kept in the respond and intel columns (as the SQLite store keeps them). */
const RESPOND_FIELDS = ['persona', 'sent', 'credentials', 'commands', 'http', 'ssh'];
const INTEL_FIELDS = ['app', 'cves', 'rules', 'iocs', 'signature'];
/** Session fields that have their own column; the rest of a session event goes to `extra` as JSON. */
const SESSION_COLUMNS = new Set([
  'type',
  'ts',
  'sensor',
  'proto',
  'src',
  'sport',
  'dst',
  'dport',
  'started',
  'ended',
  'bytes',
  'truncated',
  'close',
  'payloads',
  'tls',
  'tags',
  'geo',
  ...RESPOND_FIELDS,
  ...INTEL_FIELDS,
]);
const SHA256_HEX = /^[0-9a-f]{64}$/;

export const dayOf = (ms: number): string =>
  new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
const timeOf = (iso: string | undefined, fallback: number): number => (iso && Date.parse(iso)) || fallback;
const json = (v: unknown): string => text(JSON.stringify(v));

/** The geo columns cc, asn, org as TabSeparated fields. */
function geoFields(g: Geo | undefined): string {
  return `${text(g?.cc ?? '')}\t${uint(g?.asn ?? 0)}\t${text(g?.org ?? '')}`;
}

/** The responder's and intel's columns of a session row (persona … tag_names), in the SQLite store's shapes. */
function intelFields(ev: SessionEvent, maxBytes: number): string {
  const respond = ev.persona ? json(respondColumn(ev, maxBytes)) : '';
  return (
    `${text(ev.persona ?? '')}\t${respond}\t${text(ev.app ?? '')}\t${text(ev.signature?.template ?? '')}\t` +
    `${text(intelColumn(ev) ?? '')}\t${texts((ev.tags ?? []).map((t) => t.name))}`
  );
}

interface DailyRow {
  day: string;
  proto: string;
  port: number;
  dst: string;
  src: string;
  first: number;
  last: number;
  count: number;
}

export class BatchBuilder {
  private readonly cells = new CounterCells();
  private daily = new Map<string, DailyRow>();
  private tags = new Map<string, { day: string; src: string; name: string; confidence: number }>();
  private scans = new Map<string, ScanEvent>();
  private readonly chunks: Chunker;
  private pending = 0;
  /** Payload hash → the UTC day it was last sent (sent again on a new day: retention drops by day). */
  private readonly sentPayloads = new Lru<string, string>(PAYLOAD_LRU);
  /** Session ids: a random prefix per run and a counter, below 2^53 (JSON-safe, the API's id range). */
  private readonly idPrefix = randomInt(1, 2 ** 21);
  private idSeq = 0;
  private readonly sensor: string;
  /** The last day turned into text, and its text (most rows of a batch share a day). */
  private lastDay = { n: -1, text: '' };

  constructor(
    ids: BatchIds,
    private readonly opts: { sensor: string; maxPayloadBytes: number; geo?: GeoLookup },
  ) {
    this.chunks = new Chunker(ids, opts.sensor);
    this.sensor = text(opts.sensor);
  }

  /** Rows waiting (counter cells, daily rows, sessions, payloads, ...). */
  get size(): number {
    return this.pending;
  }

  private day(ms: number): string {
    const n = Math.floor(ms / DAY_MS);
    if (n !== this.lastDay.n) this.lastDay = { n, text: dayOf(ms) };
    return this.lastDay.text;
  }

  addAttempt(a: Attempt): void {
    this.pending += this.cells.add(a.proto, a.dport, a.time, 1, a.isNew ? 1 : 0, 0);
    const proto = a.proto === 'tcp' ? 'TCP' : 'UDP';
    const day = this.day(a.time);
    const key = `${day}|${proto}|${a.dport}|${a.dst}|${a.src}`;
    const sec = Math.floor(a.time / 1000);
    const d = this.daily.get(key);
    if (d) {
      d.count++;
      if (sec < d.first) d.first = sec;
      if (sec > d.last) d.last = sec;
      return;
    }
    this.daily.set(key, {
      day,
      proto,
      port: a.dport,
      dst: a.dst,
      src: a.src,
      first: sec,
      last: sec,
      count: 1,
    });
    this.pending++;
  }

  private addTags(src: string, time: number, tags: Tag[] | undefined): void {
    for (const t of tags ?? []) {
      const key = `${src}|${t.name}`;
      const old = this.tags.get(key);
      if (old && old.confidence >= t.confidence) continue;
      if (!old) this.pending++;
      this.tags.set(key, { day: this.day(time), src, name: t.name, confidence: t.confidence });
    }
  }

  /**
   * The sha256 of the session's kept bytes, and their payload row unless this hash went out today. The intel
   * stage has already hashed the same bytes (joinPayload at the same size) into ev.signature: the hash is
   * reused, and the payload is decoded only when it has to be sent.
   */
  private payloadHash(ev: SessionEvent, day: string): string {
    let data: Buffer | undefined;
    let hash = ev.signature?.sha256 ?? '';
    if (!SHA256_HEX.test(hash)) {
      data = joinPayload(ev.payloads, this.opts.maxPayloadBytes);
      if (!data.length) return '';
      hash = createHash('sha256').update(data).digest('hex');
    }
    if (this.sentPayloads.get(hash) === day) return hash;
    this.sentPayloads.set(hash, day);
    data ??= joinPayload(ev.payloads, this.opts.maxPayloadBytes);
    this.chunks.add(
      'payloads',
      day,
      `${day}\t${hash}\t${data.toString('hex')}\t${data.length}\t${this.sensor}`,
    );
    this.pending++;
    return hash;
  }

  addSession(ev: SessionEvent): void {
    const t = timeOf(ev.started, timeOf(ev.ts, Date.now()));
    const day = this.day(t);
    this.pending += this.cells.add(ev.proto === 'udp' ? 'udp' : 'tcp', ev.dport, t, 0, 0, 1);
    const hash = this.payloadHash(ev, day);
    let extra: Record<string, unknown> | undefined;
    for (const k in ev)
      if (!SESSION_COLUMNS.has(k)) (extra ??= {})[k] = (ev as unknown as Record<string, unknown>)[k];
    const id = this.idPrefix * 2 ** 32 + (++this.idSeq % 2 ** 32);
    this.chunks.add(
      'sessions',
      day,
      `${this.sensor}\t${day}\t${id}\t${uint(t)}\t${uint(timeOf(ev.ended, t))}\t${text(ev.proto)}\t` +
        `${text(ev.src)}\t${uint(ev.sport)}\t${text(ev.dst)}\t${uint(ev.dport)}\t${uint(ev.bytes)}\t` +
        `${ev.truncated ? 1 : 0}\t${text(ev.close)}\t${hash}\t${ev.tls ? json(ev.tls) : ''}\t` +
        `${ev.tags?.length ? json(ev.tags) : ''}\t${geoFields(ev.geo ?? this.opts.geo?.(ev.src))}\t` +
        `${extra ? json(extra) : ''}\t${intelFields(ev, this.opts.maxPayloadBytes)}`,
    );
    this.pending++;
    this.addTags(ev.src, t, ev.tags);
    this.addIocs(ev, t, day);
  }

  /** One row per IOC of the session; first/last seen, sessions and sources are aggregated on read. */
  private addIocs(ev: SessionEvent, t: number, day: string): void {
    const kinds = [
      ['url', ev.iocs?.urls ?? []],
      ['host', ev.iocs?.hosts ?? []],
    ] as const;
    for (const [kind, values] of kinds)
      for (const value of values) {
        this.chunks.add(
          'iocs',
          day,
          `${this.sensor}\t${day}\t${uint(t)}\t${kind}\t${text(value)}\t${text(ev.src)}`,
        );
        this.pending++;
      }
  }

  addScan(ev: ScanEvent): void {
    if (!this.scans.has(ev.id)) this.pending++;
    this.scans.set(ev.id, ev);
    const t = timeOf(ev.last_seen, Date.now());
    this.addTags(ev.src, t, [...(ev.tags ?? []), ...(ev.tool ? [{ name: ev.tool, confidence: 1 }] : [])]);
  }

  addSpike(ev: SpikeEvent): void {
    const t = timeOf(ev.ts, Date.now());
    const day = this.day(t);
    this.chunks.add(
      'spikes',
      day,
      `${this.sensor}\t${day}\t${uint(t)}\t${text(ev.proto)}\t${uint(ev.dport)}\t${uint(ev.interval_s)}\t${json(ev)}`,
    );
    this.pending++;
  }

  addBlock(ev: BlockEvent): void {
    const t = timeOf(ev.ts, Date.now());
    const day = this.day(t);
    const until = ev.until ? Date.parse(ev.until) || 0 : 0;
    this.chunks.add(
      'blocks',
      day,
      `${this.sensor}\t${day}\t${uint(t)}\t${text(ev.src)}\t${text(ev.action)}\t${uint(until)}\t${text(ev.reason)}`,
    );
    this.pending++;
  }

  /** Any other event type (capture's packets counters, campaigns...): kept whole as JSON. */
  addOther(ev: SensorEvent): void {
    const t = timeOf(ev.ts, Date.now());
    const day = this.day(t);
    this.chunks.add('events', day, `${this.sensor}\t${day}\t${uint(t)}\t${text(ev.type)}\t${json(ev)}`);
    this.pending++;
  }

  /** Everything folded so far as chunks (plus a heartbeat row: the sensor is alive), and a fresh start. */
  take(now = Date.now()): Chunk[] {
    const s = this.sensor;
    for (const c of this.cells.take()) {
      const day = this.day(c.minute * 60_000);
      this.chunks.add(
        'counter_rows',
        day,
        `${s}\t${day}\t${c.minute}\t${c.proto}\t${c.port}\t${uint(c.all)}\t${uint(c.new)}\t${uint(c.sess)}`,
      );
    }
    for (const d of this.daily.values())
      this.chunks.add(
        'daily',
        d.day,
        `${s}\t${d.day}\t${d.proto}\t${uint(d.port)}\t${text(d.dst)}\t${text(d.src)}\t${uint(d.first)}\t` +
          `${uint(d.last)}\t${d.count}\t${geoFields(this.opts.geo?.(d.src))}`,
      );
    for (const t of this.tags.values())
      this.chunks.add(
        'source_tags',
        t.day,
        `${s}\t${t.day}\t${text(t.src)}\t${text(t.name)}\t${float(t.confidence)}`,
      );
    for (const ev of this.scans.values()) this.addScanRow(ev);
    const day = this.day(now);
    this.chunks.add('heartbeats', day, `${s}\t${day}\t${uint(now)}`);
    this.daily = new Map();
    this.tags = new Map();
    this.scans = new Map();
    this.pending = 0;
    return this.chunks.take();
  }

  private addScanRow(ev: ScanEvent): void {
    const first = timeOf(ev.first_seen, Date.now());
    const day = this.day(first);
    this.chunks.add(
      'scans',
      day,
      `${this.sensor}\t${day}\t${text(ev.id)}\t${text(ev.src)}\t${text(ev.state)}\t${uint(first)}\t` +
        `${uint(timeOf(ev.last_seen, first))}\t${json(ev)}`,
    );
  }
}
