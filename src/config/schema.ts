// The one config schema: every option of tidewatch, with defaults and units. Flags are the kebab-case of
// the key (--idle-timeout), env variables TIDEWATCH_ + upper snake case (TIDEWATCH_IDLE_TIMEOUT), and TOML
// keys are the flag names (idle-timeout = "30s"). docs/configuration.md is generated from this table.
import { hostname } from 'node:os';
import { bool, choice, duration, int, list, num, ports, size, str } from './options.js';

/** A port set that is safe to bind by default: commonly probed services, no firewall change needed. */
export const DEFAULT_TCP_PORTS =
  '21-23,25,53,80-81,88,110-111,135,139,143,389,443,445,465,502,587,631,993,995,1080,1433,1521,1723,1883,' +
  '2323,2375-2376,3306,3389,5060,5432,5555,5900,5985,6379,7547,8000-8100,8443,8888,9000,9200,11211,27017,37215,52869';
export const DEFAULT_UDP_PORTS = '53,69,111,123,137,161,389,500,1900,5060,5353,11211';

export const OPTIONS = {
  // ── general ────────────────────────────────────────────────────────────────────────────────────
  sensor: str(hostname(), 'sensor id carried by every event', 'ID'),
  dataDir: str('~/.tidewatch', 'where sessions, daily CSV, events, the store and the TLS key live', 'DIR'),
  user: str(
    '',
    'started as root: run as this user, keeping only the capabilities still needed (docs/privileges.md)',
    'NAME',
  ),
  logLevel: choice(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const,
    'info',
    'operational log level',
  ),
  logFormat: choice(
    ['auto', 'pretty', 'json'] as const,
    'auto',
    'operational log on stderr: auto is one readable line per event when stdout and stderr are terminals, else JSON lines',
  ),

  // ── listener (src/listen) ──────────────────────────────────────────────────────────────────────
  listen: choice(
    ['ports', 'tproxy', 'off'] as const,
    'ports',
    'bind each port, one socket behind nftables TPROXY, or off',
  ),
  tcpPorts: ports(DEFAULT_TCP_PORTS, 'TCP ports to accept on (lists and ranges: 1-1023,8080)'),
  udpPorts: ports(DEFAULT_UDP_PORTS, 'UDP ports to receive on (lists and ranges)'),
  bind: list('', 'addresses to bind in ports mode (default: all, IPv4 and IPv6)', 'ADDRS'),
  excludePorts: ports('', 'ports never taken, in both listen modes'),
  sshPort: int(22, 'the SSH port: never taken by tproxy mode nor blocked', 1, 65535, 'PORT'),
  tproxyPort: int(39999, 'local port of the transparent sockets in tproxy mode', 1, 65535, 'PORT'),
  tproxyIface: list(
    '',
    'interfaces whose incoming traffic tproxy mode takes (default: all but lo)',
    'IFACES',
  ),
  tproxyDst: list('', 'destination CIDRs that tproxy mode takes (default: any)', 'CIDRS'),
  bufsize: size(8192, 'bytes kept of each TCP session or UDP datagram'),
  idleTimeout: duration('30s', 'close a TCP session after this long without data'),
  maxSession: duration('120s', 'close a TCP session after this long in all'),
  fin: bool(false, 'close sessions with FIN instead of RST'),
  maxSessions: int(
    10000,
    'TCP sessions open at once; beyond it new connections are closed and counted',
    1,
    1_000_000,
  ),
  tls: choice(['on', 'off'] as const, 'on', 'complete TLS handshakes when the first bytes are a ClientHello'),
  tlsCert: str('', 'TLS certificate (PEM); default: self-signed, generated into the data dir', 'FILE'),
  tlsKey: str('', 'TLS private key (PEM) for --tls-cert', 'FILE'),
  tlsHandshakeRate: int(
    2000,
    'TLS handshakes per second in total; beyond, a session is recorded as plain TCP with its ClientHello fields and closed',
    1,
    1_000_000,
  ),
  tlsHandshakeRateSource: int(
    20,
    'TLS handshakes per second from one source address (beyond: as --tls-handshake-rate)',
    1,
    1_000_000,
  ),
  sessionsFile: str(
    'sessions/%Y-%m-%d.jsonl',
    'session file name, strftime pattern (UTC) under the data dir',
    'PATTERN',
  ),
  rawFiles: bool(false, "also write TachyonNet's raw/YYYYMMDD/proto_src_sport__dst_dport.log files"),

  // ── responders (src/respond) ───────────────────────────────────────────────────────────────────
  respond: choice(
    ['on', 'off'] as const,
    'on',
    'answer TCP sessions as the service the client expects (banners, logins, shells); off: listen silently',
  ),
  respondUdp: choice(
    ['on', 'off'] as const,
    'off',
    'answer DNS, SIP and SSDP datagrams (never larger than the request, rate-limited per source)',
  ),
  sshAccept: bool(false, 'accept SSH logins and offer the recording shell (default: record and deny)'),
  personas: str('', 'TOML file setting the persona, banner and responses per port', 'FILE'),
  respondMaxSessions: int(
    2000,
    'persona sessions open at once; beyond it sessions are recorded without an answer',
    1,
    1_000_000,
  ),
  respondMaxSent: size('64KiB', 'bytes a persona sends per session; beyond it the session ends'),
  respondMaxCommands: int(100, 'command lines (and HTTP requests) recorded per session', 1, 100_000),
  respondMaxAuth: int(
    10,
    'authentication attempts recorded per session; beyond it the session ends',
    1,
    1000,
  ),
  sshHandshakes: int(50, 'SSH key exchanges started per second in all (they cost CPU)', 1, 100_000),
  sshHandshakesPerSource: int(5, 'SSH key exchanges started per second per source', 1, 100_000),
  respondUdpRate: int(5, 'UDP replies per source per minute (--respond-udp on)', 1, 100_000),

  // ── capture (src/capture) ──────────────────────────────────────────────────────────────────────
  capture: str('', 'interface to count packets on with libpcap (any allowed); empty: no capture', 'IFACE'),
  filter: str('', 'BPF filter in tcpdump syntax', 'BPF'),
  excludePrivate: bool(false, 'drop private, loopback, link-local and ULA sources'),
  onlyDst: list('', 'count only traffic to these addresses', 'ADDRS'),
  maxSources: int(
    1_000_000,
    'per-source state kept at most (least recently seen evicted and counted)',
    1,
    50_000_000,
  ),
  flush: duration('60s', 'rewrite the daily CSV this often'),
  jsonTcp: str('', 'send counters as JSON lines to this TCP collector', 'HOST:PORT'),
  reportInterval: duration('600s', 'interval of the JSON-over-TCP counter reports'),
  spoolMax: size(
    '64MiB',
    'disk spool file for JSON-over-TCP lines while the collector is down (sent lines compacted away)',
  ),

  // ── detection (src/detect) ─────────────────────────────────────────────────────────────────────
  scanWindow: duration('5m', 'window for distinct ports and hosts per source'),
  scanPorts: int(15, 'distinct destination ports in the window that make a vertical scan', 2, 65535),
  scanHosts: int(
    25,
    'distinct destination addresses in the window that make a horizontal scan',
    2,
    1_000_000,
  ),
  scanBlockPorts: int(
    5,
    'a block scan: at least this many ports on at least --scan-block-hosts hosts',
    2,
    65535,
  ),
  scanBlockHosts: int(
    5,
    'a block scan: at least this many hosts with at least --scan-block-ports ports',
    2,
    1_000_000,
  ),
  scanEpisodeGap: duration('10m', 'a scan episode ends after this long without probes from its source'),
  trwDetection: num(0.99, 'TRW: wanted detection probability', 0.5, 0.99999),
  trwFalsePositive: num(0.01, 'TRW: wanted false-positive probability', 0.00001, 0.5),
  handshakeWindow: duration(
    '10m',
    'a TCP handshake counts as evidence (handshake_completed, blocking) for a scan episode opened at most this long after it',
  ),
  maxAlertsPerMinute: int(
    60,
    'scan and spike alerts sent per minute (budgets per source, /24 or /48 and in total; the rest are counted)',
    1,
    1_000_000,
  ),
  spikeInterval: duration('1h', 'interval over which distinct sources per port are compared to the baseline'),
  spikeScore: num(4, 'score (deviations above the baseline) that makes a spike', 0.5, 1000),
  spikeMinCount: int(10, 'distinct sources in an interval below which no spike is raised', 1, 1_000_000),

  // ── intelligence (src/intel) ───────────────────────────────────────────────────────────────────
  rules: str(
    '',
    'directory of user rules (TOML, docs/rules.md) added to the shipped rules/; SIGHUP reloads them',
    'DIR',
  ),
  benignList: list(
    '',
    'files of benign scanner ranges ("CIDR org" lines) added to the shipped research-scanner list',
    'FILES',
  ),
  benignScanners: choice(
    ['tag', 'ignore'] as const,
    'tag',
    'research scanners from published ranges: tag them benign:<org>, or also never alert on nor block them',
  ),
  maxSignatures: int(
    100_000,
    'session signatures tracked for campaigns at most (least recently seen evicted and counted)',
    100,
    10_000_000,
  ),
  campaignMinSources: int(
    5,
    'distinct sources in one --spike-interval that make a new signature a campaign (counted exactly up to it)',
    2,
    1_000,
  ),

  // ── blocking (src/firewall) ────────────────────────────────────────────────────────────────────
  block: choice(
    ['off', 'dry-run', 'on'] as const,
    'off',
    'add detected scanners to nftables sets that expire',
  ),
  blockFor: duration('1h', 'how long a block lasts (nftables element timeout)'),
  blockSpoofable: bool(false, 'also block sources that never completed a handshake (SYN-only, spoofable)'),
  allow: list('', 'CIDRs never blocked', 'CIDRS'),
  maxBlocked: int(65536, 'addresses blocked at once at most', 1, 10_000_000),
  tarpit: bool(false, 'hold listener sessions open and feed a byte every few seconds instead of closing'),
  tarpitMax: int(1000, 'sessions held in the tarpit at once at most', 1, 100_000),
  tarpitInterval: duration('10s', 'how often a tarpitted session is fed one byte'),

  // ── store, web, metrics (src/store, src/web, src/export) ───────────────────────────────────────
  http: str('127.0.0.1:8339', 'dashboard, API and /metrics address; off disables', 'ADDR:PORT'),
  httpToken: str(
    '',
    'token for the dashboard and API: required off loopback (generated and logged once when not given), and on loopback too when given',
    'TOKEN',
  ),
  httpTls: choice(
    ['auto', 'on', 'off'] as const,
    'auto',
    'serve the dashboard over HTTPS (auto: on off loopback, off on loopback)',
  ),
  httpTlsCert: str(
    '',
    "dashboard certificate (PEM); default: the listener's (--tls-cert or the data dir's)",
    'FILE',
  ),
  httpTlsKey: str('', 'dashboard private key (PEM) for --http-tls-cert', 'FILE'),
  store: choice(['sqlite', 'off'] as const, 'sqlite', 'embedded SQLite store in the data dir'),
  retainDays: int(30, 'days that sessions, payloads, events and raw files are kept', 1, 100_000),
  retainCounterDays: int(400, 'days that counters, daily rows and daily CSVs are kept', 1, 100_000),
  maxDisk: size('1GB', 'quota of the whole data dir (store, files, spools): oldest day first, counters last'),
  geoip: choice(
    ['on', 'off'] as const,
    'on',
    'country and ASN of every source from data shipped in npm packages',
  ),
  clickhouse: str(
    '',
    'ship every event to ClickHouse for a fleet view: http://USER:PASSWORD@HOST:8123/DATABASE (docs/fleet.md)',
    'URL',
  ),
  clickhousePassword: str(
    '',
    'password for --clickhouse when the URL has none (set it in the environment: it is never logged)',
    'SECRET',
  ),
  clickhouseSpoolMax: size('1GiB', 'disk spool for ClickHouse batches while the server is down or slow'),
  clickhouseFlush: duration('5s', 'ship a ClickHouse batch this often (or at 50000 rows)'),
  metricsTopPorts: int(100, 'ports with their own label in /metrics (bounded cardinality)', 1, 65535),
} as const;

export type OptionKey = keyof typeof OPTIONS;

type OutputOf<O> = O extends { schema: { _zod: { output: infer T } } } ? T : never;
export type Config = { readonly [K in OptionKey]: OutputOf<(typeof OPTIONS)[K]> };

export const flagOf = (key: string): string => key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
export const envOf = (key: string): string => 'TIDEWATCH_' + flagOf(key).replace(/-/g, '_').toUpperCase();
