// The query interface the web API reads: SQLite for one sensor (store/sqlite), ClickHouse for a fleet
// (store/clickhouse), hence async. Every query takes an optional `sensor` filter; a single sensor's store
// names its one sensor in `single` (the API answers 404 for any other). Times are ms since the epoch unless
// named _s.
import type {
  CampaignEvent,
  Credential,
  DailyRow,
  Geo,
  HttpRequestInfo,
  ScanEvent,
  SpikeEvent,
  SshInfo,
  Tag,
  TlsInfo,
} from '../core/events.js';

/**
 * Time budget of one API query: past it the request is answered 503 (TW_ERR_STORE_TIMEOUT). SQLite queries
 * run in a worker thread (sqlite/worker-queries.ts), ClickHouse ones with max_execution_time.
 */
export const QUERY_BUDGET_MS = 5_000;

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
  /** How many sensors saw this source. */
  sensors: number;
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
  /** From a responder (docs/events.md); `sent` is base64 of the first bytes answered. */
  persona?: string;
  sent?: string;
  credentials?: Credential[];
  commands?: string[];
  http?: HttpRequestInfo[];
  ssh?: SshInfo;
  tags?: Tag[];
  geo?: Geo;
  /** From intel: see SessionEvent. */
  app?: string;
  cves?: string[];
  rules?: string[];
  iocs?: { urls: string[]; hosts: string[] };
  signature?: { template: string; sha256: string };
}

/** An IOC (a URL or host a dropper would fetch) with when and by whom it was seen. */
export interface IocRow {
  kind: 'url' | 'host';
  value: string;
  first_seen: string;
  last_seen: string;
  sessions: number;
  /** The first few sources that sent it. */
  sources: string[];
}

/** Optional on every query: only this sensor's data. */
export interface SensorFilter {
  sensor?: string;
}

/**
 * A payload text search examines at most this many sessions per request, the newest first from the cursor
 * (or the newest of all); the answer says how many it examined and gives a cursor to search further back.
 */
export const TEXT_SCAN_ROWS = 20_000;

/** Where a page of sessions starts: the sessions strictly older than (ts, id), in the API as "TS-ID". */
export interface SessionCursor {
  ts: number;
  id: number;
}

export const formatCursor = (c: SessionCursor): string => `${c.ts}-${c.id}`;

/** "TS-ID" (ms since the epoch, session id) back to a cursor; undefined when malformed. */
export function parseCursor(v: string): SessionCursor | undefined {
  const m = /^(\d{1,15})-(\d{1,16})$/.exec(v);
  if (!m) return undefined;
  const c = { ts: Number(m[1]), id: Number(m[2]) };
  return Number.isSafeInteger(c.id) ? c : undefined;
}

export interface SessionQuery extends Partial<TimeRange>, SensorFilter {
  port?: number;
  src?: string;
  proto?: 'tcp' | 'tls' | 'udp';
  /** Substring searched in the payload bytes. */
  text?: string;
  /** Sessions carrying this tag (a rule tag, benign:<org>, a fingerprint). */
  tag?: string;
  /** Sessions with this signature template. */
  signature?: string;
  /** Only sessions older than this (keyset paging: the `next` of the previous page). */
  cursor?: SessionCursor;
  limit: number;
  /** Rows skipped after the cursor (kept for older clients: its cost grows with it). */
  offset: number;
}

/** A page of sessions: `next` continues after it; a text search says how many sessions it examined. */
export interface SessionPage extends Page<SessionRow> {
  next?: string;
  /** Sessions the text search examined (newest first from the cursor): at most scan_limit. */
  scanned?: number;
  scan_limit?: number;
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
  /** Sources seen by the most sensors (the fleet's wide scanners). */
  top_sources_by_sensors: SourceRow[];
  top_countries: { cc: string; count: number }[];
  top_asns: { asn: number; org?: string; count: number }[];
  active_scans: ScanEvent[];
  spikes: SpikeEvent[];
}

export type { DailyRow };

/** One sensor of the fleet: silent = no heartbeat lately, quiet = alive but nothing seen in the last hour. */
export interface SensorRow {
  sensor: string;
  first_seen: number | null;
  last_seen: number | null;
  last_heartbeat: number | null;
  events_last_hour: number;
  sessions: number;
  attempts: number;
  state: 'ok' | 'quiet' | 'silent';
}

/** Spikes of one (proto, port, interval) on several sensors: one fleet event. */
export interface FleetSpike {
  proto: 'tcp' | 'udp';
  dport: number;
  interval_s: number;
  /** Start of the interval. */
  t: number;
  sensors: string[];
  count: number;
  score: number;
}

type R = TimeRange & SensorFilter;

export type SeriesProto = 'tcp' | 'udp' | 'all';

export interface QueryStore {
  /** Set by a store that holds one sensor's data: its id. */
  readonly single?: string;
  summary(range: R): Promise<Summary>;
  topPorts(q: R & { proto?: 'tcp' | 'udp'; limit: number }): Promise<PortCount[]>;
  /** One port's series; proto 'all' (port 0): every port of both protocols, the sensor's totals. */
  portSeries(
    q: R & { proto: SeriesProto; port: number; step: 'minute' | 'hour' | 'day' },
  ): Promise<SeriesPoint[]>;
  sources(q: R & { port?: number; limit: number; offset: number }): Promise<Page<SourceRow>>;
  source(ip: string, f?: SensorFilter): Promise<SourceRow | undefined>;
  sessions(q: SessionQuery): Promise<SessionPage>;
  session(id: number, f?: SensorFilter): Promise<SessionRow | undefined>;
  scans(q: R & { limit: number; offset: number; src?: string }): Promise<Page<ScanEvent>>;
  spikes(q: R & { limit: number; offset: number; port?: number }): Promise<Page<SpikeEvent>>;
  blocks(
    q: SensorFilter & {
      active?: boolean;
      limit: number;
      offset: number;
    },
  ): Promise<Page<{ src: string; added: string; until?: string; reason: string; action: string }>>;
  /** Tsusen's daily rows of one UTC day (YYYY-MM-DD). */
  dailyRows(day: string, f?: SensorFilter): Promise<DailyRow[]>;
  /** The sensors whose data the store holds. */
  sensors(): Promise<SensorRow[]>;
  /** Spikes grouped by (proto, port, interval) across sensors, newest first. */
  fleetSpikes(q: R & { limit: number }): Promise<FleetSpike[]>;
  /** Campaign events, newest first (optional: a backend without intel tables answers 404). */
  campaigns?(q: R & { limit: number; offset: number }): Promise<Page<CampaignEvent>>;
  /** IOCs last seen in the range, newest first; with src, only those that source sent. */
  iocs?(q: R & { limit: number; offset: number; src?: string }): Promise<Page<IocRow>>;
}
