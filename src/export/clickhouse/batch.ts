// Folds the sensor's events into ClickHouse rows between two shipments, the way the SQLite writer folds them
// into its tables: probes become per-minute counter cells (plus a totals cell, proto 2 port 0) and daily
// per-source rows, so a busy port costs one row per minute rather than one per packet; sessions keep a
// content hash and their payload is sent once per hash and day (an LRU remembers what went out); every other
// event is kept whole as JSON. take() cuts what was folded into chunks of one table each, small enough for
// one spool line and one insert, each with its own batch id (the key of an idempotent retry).
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
import { Lru } from '../../detect/lru.js';
import type { GeoLookup, Attempt } from '../../store/sqlite/writer.js';
import { joinPayload } from '../../core/payload.js';
import { PROTO_NUM, respondColumn } from '../../store/sqlite/writer.js';
import { intelColumn } from '../../store/sqlite/intel-writer.js';
import { PROTO_TOTAL } from '../../store/sqlite/schema.js';

export type TableName =
  | 'sessions'
  | 'payloads'
  | 'counter_rows'
  | 'daily'
  | 'source_tags'
  | 'scans'
  | 'spikes'
  | 'blocks'
  | 'events'
  | 'heartbeats'
  | 'iocs';

export type Row = Record<string, string | number | string[]>;

/** One spool line and one INSERT: rows of one table, all with the same batch id. */
export interface Chunk {
  table: TableName;
  batch: number;
  rows: Row[];
}

const MIN_MS = 60_000;
const DAY_MS = 86_400_000;
/** Serialized rows per chunk at most: a spool line stays well under the spool's read size. */
export const MAX_CHUNK_BYTES = 4 << 20;
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

export const dayOf = (ms: number): string =>
  new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
const timeOf = (iso: string | undefined, fallback: number): number => (iso && Date.parse(iso)) || fallback;

/** The responder's and intel's columns of a session row, in the SQLite store's JSON shapes. */
function intelCols(ev: SessionEvent, maxBytes: number): Row {
  return {
    persona: ev.persona ?? '',
    respond: ev.persona ? JSON.stringify(respondColumn(ev, maxBytes)) : '',
    app: ev.app ?? '',
    signature: ev.signature?.template ?? '',
    intel: intelColumn(ev) ?? '',
    tag_names: (ev.tags ?? []).map((t) => t.name),
  };
}

function geoCols(g: Geo | undefined): { cc: string; asn: number; org: string } {
  return { cc: g?.cc ?? '', asn: g?.asn ?? 0, org: g?.org ?? '' };
}

/** Batch ids: ms since the epoch × 1000 + a sequence, increasing across restarts, safe as JS numbers. */
export class BatchIds {
  private last = 0;
  next(now = Date.now()): number {
    this.last = Math.max(this.last + 1, now * 1000);
    return this.last;
  }
}

export class BatchBuilder {
  private cells = new Map<string, { all: number; new: number; sess: number }>();
  private daily = new Map<string, Row>();
  private rows: Record<'sessions' | 'payloads' | 'spikes' | 'blocks' | 'events' | 'iocs', Row[]> = {
    sessions: [],
    payloads: [],
    spikes: [],
    blocks: [],
    events: [],
    iocs: [],
  };
  private tags = new Map<string, Row>();
  private scans = new Map<string, ScanEvent>();
  private pending = 0;
  /** Payload hash → the UTC day it was last sent (sent again on a new day: retention drops by day). */
  private readonly sentPayloads = new Lru<string, string>(PAYLOAD_LRU);
  /** Session ids: a random prefix per run and a counter, below 2^53 (JSON-safe, the API's id range). */
  private readonly idPrefix = randomInt(1, 2 ** 21);
  private idSeq = 0;

  constructor(private readonly opts: { sensor: string; maxPayloadBytes: number; geo?: GeoLookup }) {}

  /** Rows waiting (counter cells, daily rows, sessions, payloads, ...). */
  get size(): number {
    return this.pending;
  }

  private count(
    proto: 'tcp' | 'udp',
    port: number,
    time: number,
    all: number,
    isNew: number,
    sess: number,
  ): void {
    const minute = Math.floor(time / MIN_MS);
    for (const key of [`${PROTO_NUM[proto]}|${port}|${minute}`, `${PROTO_TOTAL}|0|${minute}`]) {
      let c = this.cells.get(key);
      if (!c) {
        c = { all: 0, new: 0, sess: 0 };
        this.cells.set(key, c);
        this.pending++;
      }
      c.all += all;
      c.new += isNew;
      c.sess += sess;
    }
  }

  addAttempt(a: Attempt): void {
    this.count(a.proto, a.dport, a.time, 1, a.isNew ? 1 : 0, 0);
    const proto = a.proto === 'tcp' ? 'TCP' : 'UDP';
    const day = dayOf(a.time);
    const key = `${day}|${proto}|${a.dport}|${a.dst}|${a.src}`;
    const sec = Math.floor(a.time / 1000);
    const d = this.daily.get(key);
    if (d) {
      d.count = (d.count as number) + 1;
      if (sec < (d.first_seen as number)) d.first_seen = sec;
      if (sec > (d.last_seen as number)) d.last_seen = sec;
      return;
    }
    this.daily.set(key, {
      sensor: this.opts.sensor,
      day,
      proto,
      dst_port: a.dport,
      dst_ip: a.dst,
      src_ip: a.src,
      first_seen: sec,
      last_seen: sec,
      count: 1,
      ...geoCols(this.opts.geo?.(a.src)),
    });
    this.pending++;
  }

  private addTags(src: string, time: number, tags: Tag[] | undefined): void {
    for (const t of tags ?? []) {
      const key = `${src}|${t.name}`;
      const old = this.tags.get(key);
      if (old && (old.confidence as number) >= t.confidence) continue;
      if (!old) this.pending++;
      this.tags.set(key, {
        sensor: this.opts.sensor,
        day: dayOf(time),
        src,
        name: t.name,
        confidence: t.confidence,
      });
    }
  }

  addSession(ev: SessionEvent): void {
    const t = timeOf(ev.started, timeOf(ev.ts, Date.now()));
    const day = dayOf(t);
    this.count(ev.proto === 'udp' ? 'udp' : 'tcp', ev.dport, t, 0, 0, 1);
    const data = joinPayload(ev.payloads, this.opts.maxPayloadBytes);
    let hash = '';
    if (data.length) {
      hash = createHash('sha256').update(data).digest('hex');
      if (this.sentPayloads.get(hash) !== day) {
        this.sentPayloads.set(hash, day);
        this.rows.payloads.push({
          day,
          hash,
          data: data.toString('hex'),
          size: data.length,
          sensor: this.opts.sensor,
        });
        this.pending++;
      }
    }
    const extra: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(ev)) if (!SESSION_COLUMNS.has(k)) extra[k] = v;
    this.rows.sessions.push({
      sensor: this.opts.sensor,
      day,
      id: this.idPrefix * 2 ** 32 + (++this.idSeq % 2 ** 32),
      ts: t,
      ended: timeOf(ev.ended, t),
      proto: ev.proto,
      src: ev.src,
      sport: ev.sport,
      dst: ev.dst,
      dport: ev.dport,
      bytes: ev.bytes,
      truncated: ev.truncated ? 1 : 0,
      close: ev.close,
      payload: hash,
      tls: ev.tls ? JSON.stringify(ev.tls) : '',
      tags: ev.tags?.length ? JSON.stringify(ev.tags) : '',
      ...geoCols(ev.geo ?? this.opts.geo?.(ev.src)),
      extra: Object.keys(extra).length ? JSON.stringify(extra) : '',
      ...intelCols(ev, this.opts.maxPayloadBytes),
    });
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
        this.rows.iocs.push({ sensor: this.opts.sensor, day, ts: t, kind, value, src: ev.src });
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
    const { sensor } = this.opts;
    this.rows.spikes.push({
      sensor,
      day: dayOf(t),
      ts: t,
      proto: ev.proto,
      dport: ev.dport,
      interval_s: ev.interval_s,
      ev: JSON.stringify(ev),
    });
    this.pending++;
  }

  addBlock(ev: BlockEvent): void {
    const t = timeOf(ev.ts, Date.now());
    const until = ev.until ? Date.parse(ev.until) || 0 : 0;
    const { sensor } = this.opts;
    this.rows.blocks.push({
      sensor,
      day: dayOf(t),
      ts: t,
      src: ev.src,
      action: ev.action,
      until,
      reason: ev.reason,
    });
    this.pending++;
  }

  /** Any other event type (capture's packets counters, campaigns...): kept whole as JSON. */
  addOther(ev: SensorEvent): void {
    const t = timeOf(ev.ts, Date.now());
    this.rows.events.push({
      sensor: this.opts.sensor,
      day: dayOf(t),
      ts: t,
      type: ev.type,
      ev: JSON.stringify(ev),
    });
    this.pending++;
  }

  /** Everything folded so far as chunks (plus a heartbeat row: the sensor is alive), and a fresh start. */
  take(ids: BatchIds, now = Date.now()): Chunk[] {
    const sensor = this.opts.sensor;
    const tables: [TableName, Row[]][] = [
      ['counter_rows', this.cellRows()],
      ['daily', [...this.daily.values()]],
      ['payloads', this.rows.payloads],
      ['sessions', this.rows.sessions],
      ['source_tags', [...this.tags.values()]],
      ['scans', [...this.scans.values()].map((ev) => this.scanRow(ev))],
      ['spikes', this.rows.spikes],
      ['blocks', this.rows.blocks],
      ['events', this.rows.events],
      ['iocs', this.rows.iocs],
      ['heartbeats', [{ sensor, day: dayOf(now), ts: now }]],
    ];
    this.cells = new Map();
    this.daily = new Map();
    this.rows = { sessions: [], payloads: [], spikes: [], blocks: [], events: [], iocs: [] };
    this.tags = new Map();
    this.scans = new Map();
    this.pending = 0;
    const out: Chunk[] = [];
    for (const [table, rows] of tables) {
      let chunk: Chunk | undefined;
      let bytes = 0;
      for (const r of rows) {
        const n = JSON.stringify(r).length;
        if (!chunk || bytes + n > MAX_CHUNK_BYTES) {
          chunk = { table, batch: ids.next(now), rows: [] };
          out.push(chunk);
          bytes = 0;
        }
        r.batch = chunk.batch;
        chunk.rows.push(r);
        bytes += n;
      }
    }
    return out;
  }

  private cellRows(): Row[] {
    const out: Row[] = [];
    for (const [key, c] of this.cells) {
      const [proto, port, minute] = key.split('|').map(Number) as [number, number, number];
      out.push({
        sensor: this.opts.sensor,
        day: dayOf(minute * MIN_MS),
        minute,
        proto,
        port,
        all_n: c.all,
        new_n: c.new,
        sess_n: c.sess,
      });
    }
    return out;
  }

  private scanRow(ev: ScanEvent): Row {
    const first = timeOf(ev.first_seen, Date.now());
    return {
      sensor: this.opts.sensor,
      day: dayOf(first),
      id: ev.id,
      src: ev.src,
      state: ev.state,
      first_ms: first,
      last_ms: timeOf(ev.last_seen, first),
      ev: JSON.stringify(ev),
    };
  }
}
