// The one event schema (docs/events.md documents it field by field). Sources produce events, detectors read
// and produce them, sinks consume them; nothing flows back. Every event carries ts (RFC 3339 UTC), sensor, type.

export interface EventBase {
  ts: string;
  sensor: string;
}

/** A tag from a fingerprint: the tool or OS that the packets look like, with a confidence from 0 to 1. */
export interface Tag {
  name: string;
  confidence: number;
}

export interface Geo {
  cc?: string;
  asn?: number;
  org?: string;
}

export interface TlsInfo {
  version: string;
  sni?: string;
  alpn?: string[];
  ja3: string;
  ja3_hash?: string;
  ja4: string;
}

/** A login tried against a responder: a password, or a public key (SSH) offered. */
export interface Credential {
  username: string;
  password?: string;
  key_type?: string;
  /** OpenSSH style: SHA256:base64 of the key blob, without padding. */
  key_fingerprint?: string;
  /** Hex of a challenge response (MySQL scramble, VNC DES response) when no clear text is sent. */
  auth_data?: string;
}

/** One HTTP request answered by the responder. */
export interface HttpRequestInfo {
  method: string;
  path: string;
  host?: string;
  user_agent?: string;
}

/** The SSH client's identification line and its KEXINIT fingerprint (HASSH). */
export interface SshInfo {
  client: string;
  hassh?: string;
  hassh_algorithms?: string;
}

export type SessionProto = 'tcp' | 'tls' | 'udp';
export type CloseReason = 'fin' | 'rst' | 'timeout' | 'cap' | 'error' | 'shutdown' | 'shed';

/** One TCP/TLS connection or one UDP datagram, with the first --bufsize bytes. */
export interface SessionEvent extends EventBase {
  type: 'session';
  proto: SessionProto;
  src: string;
  sport: number;
  /** The ORIGINAL destination address (under TPROXY too), never 0.0.0.0. */
  dst: string;
  dport: number;
  started: string;
  ended: string;
  /** Bytes received in all (may exceed what was kept). */
  bytes: number;
  truncated: boolean;
  close: CloseReason;
  /** Kept bytes, one entry per read, as tcppc-go's payloads (base64 data). */
  payloads: { index: number; timestamp: string; data: string }[];
  tls?: TlsInfo;
  /** From a responder (src/respond): which protocol answered, and what both sides said. */
  persona?: string;
  /** What tidewatch answered, in the shape of payloads. */
  sent?: { index: number; timestamp: string; data: string }[];
  credentials?: Credential[];
  commands?: string[];
  http?: HttpRequestInfo[];
  ssh?: SshInfo;
  tags?: Tag[];
  geo?: Geo;
  /** From intel (src/intel): the protocol the first bytes speak, whatever the port. */
  app?: string;
  /** CVE ids of the rules that matched, sorted (their tags are in `tags`, confidence 1). */
  cves?: string[];
  /** Ids of the rules that matched. */
  rules?: string[];
  /** What a dropper would fetch: URLs and their hosts (never fetched nor resolved). */
  iocs?: { urls: string[]; hosts: string[] };
  signature?: { template: string; sha256: string };
}

export type ProbeKind = 'syn' | 'fin' | 'null' | 'xmas' | 'ack' | 'maimon' | 'udp' | 'connect' | 'other';

/**
 * One connection attempt seen by capture (a TCP packet without ACK-only semantics, or a UDP datagram) or a
 * completed handshake from the listener (kind connect). High rate and internal: detectors consume it, sinks
 * do not write it. `time` is ms since the epoch instead of an RFC 3339 string to keep it cheap.
 */
export interface ProbeEvent {
  type: 'probe';
  time: number;
  /** Who saw it: capture (a packet) or listener (an accepted connection or received datagram). */
  via: 'capture' | 'listener';
  proto: 'tcp' | 'udp';
  kind: ProbeKind;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** Header fields for tool fingerprints (absent for kind connect). */
  ttl?: number;
  ipId?: number;
  window?: number;
  seq?: number;
  /** TCP option kinds in order, e.g. [2,4,8,1,3] = MSS,SACKOK,TS,NOP,WS. */
  options?: number[];
  mss?: number;
  wscale?: number;
  /** True when the listener completed a handshake with this source (kind connect). */
  handshake?: boolean;
}

/**
 * Whose probes are counted (daily rows, per-minute counts, metrics, scans, spikes): capture's when it runs,
 * since it sees every attempt, else the listener's. Counting both would count each accepted connection twice.
 */
export const countedVia = (cfg: { readonly capture: string }): ProbeEvent['via'] =>
  cfg.capture ? 'capture' : 'listener';

/**
 * Capture's packet counters (maps keyed by port, protocol number or ethertype, as decimal text). Declared
 * once here: the packets event, the counters' snapshot, analyze's report and the pcap ground truth share it.
 */
export interface PacketCounts {
  packets: number;
  malformed: number;
  tcp: { all: Record<string, number>; syn: Record<string, number> };
  udp: Record<string, number>;
  ip_protocols: Record<string, number>;
  ethertypes: Record<string, number>;
}

/** Periodic counters from capture (one per --report-interval or flush). */
export interface PacketsEvent extends EventBase, PacketCounts {
  type: 'packets';
  interval_s: number;
  drops: { kernel: number; ifdrop: number; evicted_sources: number };
}

/**
 * The fields of a daily per-source row, as Tsusen's CSV has them (`proto dst_port dst_ip src_ip
 * first_seen last_seen count`). Declared once here: the store, the daily table, analyze and the test
 * helpers derive their row types from it.
 */
export interface DailyRow {
  proto: string;
  /** null for protocols without ports (written as `-`, as Tsusen does). */
  dst_port: number | null;
  dst_ip: string;
  src_ip: string;
  first_seen: number;
  last_seen: number;
  count: number;
}

export interface ScanEvent extends EventBase {
  type: 'scan';
  /** Stable id of the episode: updates of one episode share it. */
  id: string;
  state: 'open' | 'update' | 'closed';
  src: string;
  kind: 'vertical' | 'horizontal' | 'block' | 'trw';
  /** The most frequent type in probe_types. */
  probe: ProbeKind;
  /** Probes per type in this episode, types without probes left out (absent in events stored before it). */
  probe_types?: Partial<Record<ProbeKind, number>>;
  ports: number;
  hosts: number;
  probes: number;
  window_s: number;
  first_seen: string;
  last_seen: string;
  tool?: string;
  tags?: Tag[];
  handshake_completed: boolean;
  action: 'logged' | 'blocked' | 'dry-run';
  geo?: Geo;
}

export interface SpikeEvent extends EventBase {
  type: 'spike';
  proto: 'tcp' | 'udp';
  dport: number;
  interval_s: number;
  count: number;
  baseline: { mean: number; sd: number; method: 'ewma' | 'mad' };
  score: number;
}

export interface BlockEvent extends EventBase {
  type: 'block';
  action: 'added' | 'expired' | 'dry-run' | 'refused';
  src: string;
  until?: string;
  reason: string;
}

/**
 * A campaign: a session signature that is new to this store and reached --campaign-min-sources distinct
 * sources in one interval, or a known signature whose sources spiked over its own baseline.
 */
export interface CampaignEvent extends EventBase {
  type: 'campaign';
  kind: 'new' | 'spike';
  signature: string;
  app: string;
  /** The first request line or payload prefix, as text (bounded). */
  example: string;
  tags: string[];
  cves: string[];
  /** Distinct sources of the signature in the current interval. */
  sources: number;
  interval_s: number;
  baseline: { mean: number; sd: number };
  first_seen: string;
  ports: number[];
  /** Distinct sources per interval, oldest first, the current one last (for sparklines). */
  series: number[];
}

export type SensorEvent = SessionEvent | PacketsEvent | ScanEvent | SpikeEvent | BlockEvent | CampaignEvent;
export type AnyEvent = SensorEvent | ProbeEvent;
export type EventType = AnyEvent['type'];

export const nowIso = (ms: number = Date.now()): string => new Date(ms).toISOString();
