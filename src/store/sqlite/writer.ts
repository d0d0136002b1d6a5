// Batches events into the SQLite store: the bus hands events over one by one, the writer folds them into
// in-memory aggregates (counter cells, daily rows, sources) and row lists, and writes everything in ONE
// transaction every flushMs or when maxRows are pending, so the disk sees a few commits a second, never one per
// event. better-sqlite3 is synchronous: a flush runs on the event loop, which is why batches stay small.
import { createHash } from 'node:crypto';

import type { Database, Statement } from 'better-sqlite3';

import { CounterCells, type Cell, type MinuteCell } from '../counter-cells.js';
import { GeoRollup } from './geo-rollup.js';
import { IntelWriter, intelColumn } from './intel-writer.js';
import { joinPayload } from '../../core/payload.js';
import type {
  BlockEvent,
  CampaignEvent,
  ScanEvent,
  SessionEvent,
  SpikeEvent,
  Tag,
  Geo,
} from '../../core/events.js';

const DAY_MS = 86_400_000;
/** Buffered payload (base64) bytes that force a flush before maxPending rows are reached. */
export const MAX_PENDING_PAYLOAD_BYTES = 16 * 1024 * 1024;
/** Payload ids remembered by hash, at most. */
const PAYLOAD_CACHE = 50_000;

interface DailyCell {
  day: number;
  proto: string;
  port: number | null;
  dst: string;
  src: string;
  first: number;
  last: number;
  count: number;
}

interface SourceCell {
  first: number;
  last: number;
  sessions: number;
  attempts: number;
  geo?: Geo;
  tags?: Tag[];
}

/** One connection attempt to count (from a probe event, already filtered by origin). */
export interface Attempt {
  time: number;
  proto: 'tcp' | 'udp';
  src: string;
  dst: string;
  dport: number;
  /** Counts as a new connection (SYN, UDP datagram, accepted connection). */
  isNew: boolean;
}

export interface WriterStats {
  flushes: number;
  rows: number;
}

/** Returns geo for a source when an enricher is running; the writer stores it with the source's row. */
export type GeoLookup = (ip: string) => Geo | undefined;

function mergeTags(a: Tag[] | undefined, b: Tag[] | undefined): Tag[] | undefined {
  if (!b?.length) return a;
  if (!a?.length) return b;
  const by = new Map<string, number>();
  for (const t of [...a, ...b]) by.set(t.name, Math.max(by.get(t.name) ?? 0, t.confidence));
  // Bounded: an attacker could collect many tags on one source; keep the strongest few.
  return [...by]
    .map(([name, confidence]) => ({ name, confidence }))
    .sort((x, y) => y.confidence - x.confidence)
    .slice(0, 16);
}

export class StoreWriter {
  private readonly cells = new CounterCells();
  private daily = new Map<string, DailyCell>();
  private srcs = new Map<string, SourceCell>();
  private sessions: SessionEvent[] = [];
  private scans = new Map<string, ScanEvent>();
  private spikes: SpikeEvent[] = [];
  private blocks: BlockEvent[] = [];
  private readonly geoDay: GeoRollup;
  /** Tags, signatures, IOCs and campaigns (src/intel's fields). */
  readonly intel: IntelWriter;
  private pending = 0;
  /** Base64 payload bytes held by buffered sessions: bounds memory when sessions carry big payloads. */
  private payloadBytes = 0;
  /** Payload hash → row id, two generations (see forgetPayloads): most sessions repeat a known payload. */
  private payloadIds = new Map<string, number>();
  private payloadIdsOld = new Map<string, number>();
  /** Row id → newest use in this batch: one UPDATE per payload per flush, not one per session. */
  private touches = new Map<number, number>();
  readonly stats: WriterStats = { flushes: 0, rows: 0 };
  private readonly st: Record<string, Statement>;

  constructor(
    private readonly db: Database,
    private readonly opts: {
      maxPayloadBytes: number;
      maxPending: number;
      geo?: GeoLookup;
      /** Called when maxPending rows wait (default: flush now). */
      onFull?: () => void;
    },
  ) {
    this.geoDay = new GeoRollup(db);
    this.intel = new IntelWriter(db);
    // Prepared once: statements are the hot path of every flush.
    const counter = (table: string, key: string): Statement =>
      db.prepare(
        `INSERT INTO ${table} (${key}, proto, port, all_n, new_n, sess_n) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT DO UPDATE SET all_n = all_n + excluded.all_n, new_n = new_n + excluded.new_n,
           sess_n = sess_n + excluded.sess_n`,
      );
    this.st = {
      min: counter('counters_min', 'minute'),
      hour: counter('counters_hour', 'hour'),
      day: counter('counters_day', 'day'),
      daily: db.prepare(
        `INSERT INTO daily (day, proto, dst_port, dst_ip, src_ip, first_seen, last_seen, count)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET
           first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
           count = count + excluded.count`,
      ),
      source: db.prepare(
        `INSERT INTO sources (ip, first_seen, last_seen, sessions, attempts, cc, asn, org, tags)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ip) DO UPDATE SET
           first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
           sessions = sessions + excluded.sessions, attempts = attempts + excluded.attempts,
           cc = coalesce(excluded.cc, cc), asn = coalesce(excluded.asn, asn), org = coalesce(excluded.org, org),
           tags = coalesce(excluded.tags, tags)`,
      ),
      sourceTags: db.prepare('SELECT tags FROM sources WHERE ip = ?'),
      payloadGet: db.prepare('SELECT id FROM payloads WHERE hash = ?'),
      payloadTouch: db.prepare('UPDATE payloads SET last_seen = max(last_seen, ?) WHERE id = ?'),
      payloadAdd: db.prepare(
        'INSERT INTO payloads (hash, data, size, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)',
      ),
      session: db.prepare(
        `INSERT INTO sessions (ts, ended, proto, src, sport, dst, dport, bytes, truncated, close, payload_id,
           tls, tags, geo, persona, respond, app, signature, intel)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      scan: db.prepare(
        `INSERT INTO scans (id, src, state, first_seen, last_seen, ev) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, first_seen = min(first_seen, excluded.first_seen),
           last_seen = max(last_seen, excluded.last_seen), ev = excluded.ev`,
      ),
      spike: db.prepare('INSERT INTO spikes (ts, proto, dport, ev) VALUES (?, ?, ?, ?)'),
      block: db.prepare('INSERT INTO blocks (ts, src, action, until, reason) VALUES (?, ?, ?, ?, ?)'),
    };
  }

  /** Drops the payload id cache: retention calls it after deleting payloads, whose ids must not be reused. */
  forgetPayloads(): void {
    this.payloadIds = new Map();
    this.payloadIdsOld = new Map();
  }

  private payloadId(hash: Buffer, data: Buffer, t: number): number {
    const key = hash.toString('base64');
    let id = this.payloadIds.get(key) ?? this.payloadIdsOld.get(key);
    if (id === undefined) {
      const row = this.st.payloadGet!.get(hash) as { id: number } | undefined;
      id = row ? row.id : Number(this.st.payloadAdd!.run(hash, data, data.length, t, t).lastInsertRowid);
    }
    if (this.payloadIds.size >= PAYLOAD_CACHE / 2) {
      this.payloadIdsOld = this.payloadIds;
      this.payloadIds = new Map();
    }
    this.payloadIds.set(key, id);
    if ((this.touches.get(id) ?? 0) < t) this.touches.set(id, t);
    return id;
  }

  /** Rows waiting for the next flush. */
  get size(): number {
    return this.pending;
  }

  private bump(): void {
    if (++this.pending >= this.opts.maxPending || this.payloadBytes >= MAX_PENDING_PAYLOAD_BYTES)
      (this.opts.onFull ?? (() => this.flush()))();
  }

  /** Counts into the port's minute and into the minute's totals row (counter-cells.ts). */
  private count(
    proto: 'tcp' | 'udp',
    port: number,
    time: number,
    all: number,
    isNew: number,
    sess: number,
  ): void {
    for (let n = this.cells.add(proto, port, time, all, isNew, sess); n > 0; n--) this.bump();
  }

  private source(ip: string, time: number): SourceCell {
    let s = this.srcs.get(ip);
    if (!s) {
      s = { first: time, last: time, sessions: 0, attempts: 0 };
      this.srcs.set(ip, s);
      this.bump();
    } else {
      if (time < s.first) s.first = time;
      if (time > s.last) s.last = time;
    }
    return s;
  }

  private countGeo(geo: Geo | undefined, time: number, attempts: number, sessions: number): void {
    for (let n = this.geoDay.add(geo, time, attempts, sessions); n > 0; n--) this.bump();
  }

  addAttempt(a: Attempt): void {
    this.count(a.proto, a.dport, a.time, 1, a.isNew ? 1 : 0, 0);
    const day = Math.floor(a.time / DAY_MS);
    const proto = a.proto === 'tcp' ? 'TCP' : 'UDP';
    const key = `${day}|${proto}|${a.dport}|${a.dst}|${a.src}`;
    const sec = Math.floor(a.time / 1000);
    const d = this.daily.get(key);
    if (d) {
      d.count++;
      if (sec < d.first) d.first = sec;
      if (sec > d.last) d.last = sec;
    } else {
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
      this.bump();
    }
    const src = this.source(a.src, a.time);
    src.attempts++;
    this.countGeo(src.geo ?? this.opts.geo?.(a.src), a.time, 1, 0);
  }

  addSession(ev: SessionEvent): void {
    const t = Date.parse(ev.started) || Date.parse(ev.ts) || Date.now();
    this.count(ev.proto === 'udp' ? 'udp' : 'tcp', ev.dport, t, 0, 0, 1);
    const s = this.source(ev.src, t);
    s.sessions++;
    if (ev.geo) s.geo = ev.geo;
    this.countGeo(s.geo ?? this.opts.geo?.(ev.src), t, 0, 1);
    s.tags = mergeTags(s.tags, ev.tags);
    this.sessions.push(ev);
    for (const p of ev.payloads) this.payloadBytes += p.data.length;
    for (let n = this.intel.addSession(ev, t); n > 0; n--) this.bump();
    this.bump();
  }

  addScan(ev: ScanEvent): void {
    // Updates of one episode share the id: only the latest state of each episode is written.
    if (!this.scans.has(ev.id)) this.bump();
    this.scans.set(ev.id, ev);
    if (ev.tags?.length || ev.tool) {
      const s = this.source(ev.src, Date.parse(ev.last_seen) || Date.now());
      const toolTag = ev.tool ? [{ name: ev.tool, confidence: 1 }] : undefined;
      s.tags = mergeTags(mergeTags(s.tags, ev.tags), toolTag);
      if (ev.geo) s.geo ??= ev.geo;
    }
  }

  addSpike(ev: SpikeEvent): void {
    this.spikes.push(ev);
    this.bump();
  }

  addBlock(ev: BlockEvent): void {
    this.blocks.push(ev);
    this.bump();
  }

  addCampaign(ev: CampaignEvent): void {
    this.intel.addCampaign(ev);
    this.bump();
  }

  /** Writes everything pending in one transaction; returns the rows written. */
  flush(): number {
    if (this.pending === 0) return 0;
    const { daily, srcs, sessions, scans, spikes, blocks } = this;
    const cells = this.cells.take();
    this.daily = new Map();
    this.srcs = new Map();
    this.sessions = [];
    this.scans = new Map();
    this.spikes = [];
    this.blocks = [];
    const rows = this.pending;
    this.pending = 0;
    this.payloadBytes = 0;
    // The buffers are swapped out first: if the write throws (disk full), this batch is dropped, not retried
    // forever, and the caller counts it.
    try {
      this.db.transaction(() => {
        this.write(cells, daily, srcs, sessions, scans, spikes, blocks);
        this.geoDay.write();
        this.intel.write();
      })();
    } catch (err) {
      // Rolled back: payload ids handed out in this batch do not exist (and may be given again).
      this.forgetPayloads();
      this.touches.clear();
      throw err;
    }
    this.stats.flushes++;
    this.stats.rows += rows;
    return rows;
  }

  private write(
    cells: MinuteCell[],
    daily: Map<string, DailyCell>,
    srcs: Map<string, SourceCell>,
    sessions: SessionEvent[],
    scans: Map<string, ScanEvent>,
    spikes: SpikeEvent[],
    blocks: BlockEvent[],
  ): void {
    const st = this.st;
    // Minute cells roll up into hours and UTC days (1440 minutes) before they are written.
    const rollups: [Map<string, Cell>, number, Statement][] = [
      [new Map(), 60, st.hour!],
      [new Map(), 1440, st.day!],
    ];
    for (const c of cells) {
      const { proto: p, port, minute } = c;
      st.min!.run(minute, p, port, c.all, c.new, c.sess);
      for (const [m, per] of rollups) {
        const k = `${p}|${port}|${Math.floor(minute / per)}`;
        const r = m.get(k);
        if (r) {
          r.all += c.all;
          r.new += c.new;
          r.sess += c.sess;
        } else m.set(k, { all: c.all, new: c.new, sess: c.sess });
      }
    }
    for (const [m, , stmt] of rollups)
      for (const [key, c] of m) {
        const [p, port, t] = key.split('|').map(Number) as [number, number, number];
        stmt.run(t, p, port, c.all, c.new, c.sess);
      }
    for (const d of daily.values())
      st.daily!.run(d.day, d.proto, d.port, d.dst, d.src, d.first, d.last, d.count);
    for (const [ip, s] of srcs) {
      const geo = s.geo ?? this.opts.geo?.(ip);
      let tags = s.tags;
      if (tags?.length) {
        const old = st.sourceTags!.get(ip) as { tags: string | null } | undefined;
        if (old?.tags) tags = mergeTags(JSON.parse(old.tags) as Tag[], tags);
      }
      st.source!.run(
        ip,
        s.first,
        s.last,
        s.sessions,
        s.attempts,
        geo?.cc ?? null,
        geo?.asn ?? null,
        geo?.org ?? null,
        tags?.length ? JSON.stringify(tags) : null,
      );
    }
    for (const ev of sessions) this.writeSession(ev);
    for (const [id, t] of this.touches) st.payloadTouch!.run(t, id);
    this.touches.clear();
    for (const ev of scans.values())
      st.scan!.run(
        ev.id,
        ev.src,
        ev.state,
        Date.parse(ev.first_seen) || 0,
        Date.parse(ev.last_seen) || 0,
        JSON.stringify(ev),
      );
    for (const ev of spikes)
      st.spike!.run(Date.parse(ev.ts) || Date.now(), ev.proto, ev.dport, JSON.stringify(ev));
    for (const ev of blocks)
      st.block!.run(
        Date.parse(ev.ts) || Date.now(),
        ev.src,
        ev.action,
        ev.until ? Date.parse(ev.until) || null : null,
        ev.reason,
      );
  }

  private writeSession(ev: SessionEvent): void {
    const st = this.st;
    const t = Date.parse(ev.started) || Date.parse(ev.ts) || Date.now();
    const ended = Date.parse(ev.ended) || t;
    const data = joinPayload(ev.payloads, this.opts.maxPayloadBytes);
    // Deduplicated by content: scanners send the same few requests millions of times.
    const payloadId =
      data.length > 0 ? this.payloadId(createHash('sha256').update(data).digest(), data, t) : null;
    const { lastInsertRowid } = st.session!.run(
      t,
      ended,
      ev.proto,
      ev.src,
      ev.sport,
      ev.dst,
      ev.dport,
      ev.bytes,
      ev.truncated ? 1 : 0,
      ev.close,
      payloadId,
      ev.tls ? JSON.stringify(ev.tls) : null,
      ev.tags?.length ? JSON.stringify(ev.tags) : null,
      ev.geo ? JSON.stringify(ev.geo) : null,
      ev.persona ?? null,
      ev.persona ? JSON.stringify(respondColumn(ev, this.opts.maxPayloadBytes)) : null,
      ev.app ?? null,
      ev.signature?.template ?? null,
      intelColumn(ev),
    );
    this.intel.sessionWritten(ev, Number(lastInsertRowid), t);
  }
}

/** The responder's fields as stored: `sent` joined and cut like payloads. */
export function respondColumn(ev: SessionEvent, maxBytes: number): Record<string, unknown> {
  const o: Record<string, unknown> = { sent: joinPayload(ev.sent ?? [], maxBytes).toString('base64') };
  if (ev.credentials) o.credentials = ev.credentials;
  if (ev.commands) o.commands = ev.commands;
  if (ev.http) o.http = ev.http;
  if (ev.ssh) o.ssh = ev.ssh;
  return o;
}
