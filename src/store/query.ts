// The query interface the web API reads. SQLite implements it now (store/sqlite); a ClickHouse backend for
// fleets of sensors will implement it next, hence async. Times are ms since the epoch unless named _s.
import type { DailyRow, Geo, ScanEvent, SpikeEvent, Tag, TlsInfo } from '../core/events.js';

export interface TimeRange {
  from: number;
  to: number;
}

export interface PortCount {
  proto: 'tcp' | 'udp';
  port: number;
  /** Packets/sessions to the port. */
  all: number;
  /** Connection attempts (SYN or new UDP flow / accepted session). */
  new: number;
  /** Sessions recorded by the listener. */
  sessions?: number;
  sources?: number;
}

export interface SeriesPoint {
  t: number;
  all: number;
  new: number;
  sessions?: number;
  sources?: number;
}

export interface SourceRow {
  ip: string;
  geo?: Geo;
  first_seen: number;
  last_seen: number;
  sessions: number;
  attempts: number;
  ports: number;
  tags: Tag[];
}

export interface SessionRow {
  id: number;
  /** When the session started. */
  ts: string;
  ended?: string;
  proto: 'tcp' | 'tls' | 'udp';
  src: string;
  sport: number;
  dst: string;
  dport: number;
  bytes: number;
  truncated: boolean;
  close: string;
  /** Base64 of the kept bytes. */
  payload: string;
  tls?: TlsInfo;
  tags?: Tag[];
  geo?: Geo;
}

export interface SessionQuery extends Partial<TimeRange> {
  port?: number;
  src?: string;
  proto?: 'tcp' | 'tls' | 'udp';
  /** Substring searched in the payload bytes. */
  text?: string;
  limit: number;
  offset: number;
}

export interface Page<T> {
  rows: T[];
  total: number;
  /** Set when counting stopped at a cap: total is then a lower bound. */
  capped?: boolean;
}

export interface Summary {
  totals: {
    sessions: number;
    attempts: number;
    sources: number;
    scans: number;
    spikes: number;
    blocks: number;
  };
  rates: { sessions_per_min: number; attempts_per_min: number };
  top_ports: PortCount[];
  top_sources: SourceRow[];
  top_countries: { cc: string; count: number }[];
  top_asns: { asn: number; org?: string; count: number }[];
  active_scans: ScanEvent[];
  spikes: SpikeEvent[];
}

export type { DailyRow };

export interface QueryStore {
  summary(range: TimeRange): Promise<Summary>;
  topPorts(q: TimeRange & { proto?: 'tcp' | 'udp'; limit: number }): Promise<PortCount[]>;
  portSeries(
    q: TimeRange & { proto: 'tcp' | 'udp'; port: number; step: 'minute' | 'hour' | 'day' },
  ): Promise<SeriesPoint[]>;
  sources(q: TimeRange & { port?: number; limit: number; offset: number }): Promise<Page<SourceRow>>;
  source(ip: string): Promise<SourceRow | undefined>;
  sessions(q: SessionQuery): Promise<Page<SessionRow>>;
  session(id: number): Promise<SessionRow | undefined>;
  scans(q: TimeRange & { limit: number; offset: number; src?: string }): Promise<Page<ScanEvent>>;
  spikes(q: TimeRange & { limit: number; offset: number; port?: number }): Promise<Page<SpikeEvent>>;
  blocks(q: {
    active?: boolean;
    limit: number;
    offset: number;
  }): Promise<Page<{ src: string; added: string; until?: string; reason: string; action: string }>>;
  /** Tsusen's daily rows of one UTC day (YYYY-MM-DD). */
  dailyRows(day: string): Promise<DailyRow[]>;
}
