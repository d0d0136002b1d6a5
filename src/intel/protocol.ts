// Protocol identification: which protocol a session's first bytes speak, whatever the port. A table of byte
// signatures, tried in order; each reads at most a few hundred bytes at fixed offsets (constant time per
// session). UDP-only protocols are tried only on datagrams (a DNS header is 12 arbitrary-looking bytes).
export const APPS = [
  'http',
  'tls',
  'ssh',
  'telnet',
  'rdp',
  'smb',
  'sip',
  'rtsp',
  'redis',
  'mqtt',
  'mysql',
  'postgres',
  'mssql',
  'jdwp',
  'adb',
  'dns',
  'ntp',
  'snmp',
  'ssdp',
  'memcached',
  'modbus',
  's7',
  'bacnet',
  'coap',
  'unknown',
] as const;
export type App = (typeof APPS)[number];

interface Signature {
  app: App;
  /** Only on UDP datagrams (their own header is all there is). */
  udpOnly?: boolean;
  test: (b: Buffer) => boolean;
}

const HTTP_METHODS = [
  'GET',
  'POST',
  'HEAD',
  'PUT',
  'DELETE',
  'OPTIONS',
  'PATCH',
  'CONNECT',
  'TRACE',
  'PROPFIND',
  'PRI',
  'MKCOL',
  'COPY',
  'MOVE',
  'LOCK',
  'UNLOCK',
  'SEARCH',
];

const startsWith = (b: Buffer, s: string): boolean =>
  b.length >= s.length && b.toString('latin1', 0, s.length) === s;

/** The first line (at most 256 bytes, without CR LF), for request-line protocols. */
function firstLine(b: Buffer): string {
  const end = Math.min(b.length, 256);
  let i = 0;
  while (i < end && b[i] !== 0x0d && b[i] !== 0x0a) i++;
  return b.toString('latin1', 0, i);
}

/** The first word when a space or line end follows it within 16 bytes, else ''. */
function firstWord(b: Buffer): string {
  const end = Math.min(b.length, 17);
  for (let i = 0; i < end; i++) {
    const c = b[i]!;
    if (c === 0x20 || c === 0x0d || c === 0x0a) return b.toString('latin1', 0, i);
  }
  return '';
}

const REDIS_INLINE = new Set([
  'PING',
  'INFO',
  'CONFIG',
  'SLAVEOF',
  'REPLICAOF',
  'MODULE',
  'FLUSHALL',
  'KEYS',
  'AUTH',
  'EVAL',
]);
const MEMCACHED_COMMANDS = new Set([
  'stats',
  'version',
  'get',
  'gets',
  'set',
  'add',
  'delete',
  'flush_all',
  'incr',
  'decr',
  'touch',
]);

/** `METHOD target VERSION` where VERSION starts with `proto/`. */
function requestLine(b: Buffer, proto: string): boolean {
  const line = firstLine(b);
  const sp = line.indexOf(' ');
  if (sp < 3) return false;
  return line.lastIndexOf(' ' + proto + '/') > sp;
}

export function isHttpRequest(b: Buffer): boolean {
  const line = firstLine(b);
  const sp = line.indexOf(' ');
  if (sp < 3 || !HTTP_METHODS.includes(line.slice(0, sp))) return false;
  // A request line: METHOD SP target [SP HTTP/x] (HTTP/0.9 has no version; an incomplete read may lack it).
  return line.length > sp + 1 && line[sp + 1] !== ' ';
}

/** TPKT (RFC 1006) header: version 3, reserved 0, length covering the packet. */
const tpkt = (b: Buffer): boolean => b.length >= 7 && b[0] === 3 && b[1] === 0 && b.readUInt16BE(2) >= 7;

/** COTP connection request whose parameters name TSAPs (0xc1/0xc2): S7comm's, not RDP's. */
function cotpWithTsap(b: Buffer): boolean {
  const len = b[4]!;
  for (let i = 11; i + 1 < Math.min(b.length, 5 + len);) {
    const code = b[i]!;
    if (code === 0xc1 || code === 0xc2) return true;
    i += 2 + b[i + 1]!;
  }
  return false;
}

const SIGNATURES: readonly Signature[] = [
  { app: 'tls', test: (b) => b.length >= 3 && b[0] === 0x16 && b[1] === 3 && b[2]! <= 4 },
  { app: 'ssh', test: (b) => startsWith(b, 'SSH-') },
  { app: 'ssdp', test: (b) => startsWith(b, 'M-SEARCH * HTTP/') || startsWith(b, 'NOTIFY * HTTP/') },
  { app: 'sip', test: (b) => requestLine(b, 'SIP') || startsWith(b, 'SIP/2.0 ') },
  { app: 'rtsp', test: (b) => requestLine(b, 'RTSP') },
  { app: 'http', test: isHttpRequest },
  { app: 'jdwp', test: (b) => startsWith(b, 'JDWP-Handshake') },
  { app: 'adb', test: (b) => startsWith(b, 'CNXN') && b.length >= 24 },
  // IAC followed by WILL, WONT, DO or DONT.
  { app: 'telnet', test: (b) => b.length >= 3 && b[0] === 0xff && b[1]! >= 0xfb && b[1]! <= 0xfe },
  { app: 's7', test: (b) => tpkt(b) && b[5] === 0xf0 && b[7] === 0x32 },
  { app: 's7', test: (b) => tpkt(b) && b[5] === 0xe0 && cotpWithTsap(b) },
  { app: 'rdp', test: (b) => tpkt(b) && (b[5] === 0xe0 || b[5] === 0xd0) },
  // NetBIOS session message, then SMB1 (0xff) or SMB2/3 (0xfe) "SMB".
  {
    app: 'smb',
    test: (b) =>
      b.length >= 8 && b[0] === 0 && (b[4] === 0xff || b[4] === 0xfe) && b.toString('latin1', 5, 8) === 'SMB',
  },
  // RESP array of bulk strings, or an inline command.
  {
    app: 'redis',
    test: (b) =>
      (b.length >= 4 && b[0] === 0x2a && b[1]! >= 0x30 && b[1]! <= 0x39 && b.includes('\r\n$')) ||
      REDIS_INLINE.has(firstWord(b).toUpperCase()),
  },
  // CONNECT packet: remaining length (1-4 bytes), then protocol name MQTT or MQIsdp.
  {
    app: 'mqtt',
    test: (b) => {
      if (b.length < 10 || b[0] !== 0x10) return false;
      let i = 1;
      while (i < 5 && b[i]! & 0x80) i++;
      return (
        b.toString('latin1', i + 1, i + 7).startsWith('\x00\x04MQTT') ||
        b.toString('latin1', i + 1, i + 9) === '\x00\x06MQIsdp'
      );
    },
  },
  // Startup (protocol 3.0), SSLRequest or GSSENCRequest: a length, then a code.
  {
    app: 'postgres',
    test: (b) => {
      if (b.length < 8) return false;
      const len = b.readUInt32BE(0);
      const code = b.readUInt32BE(4);
      return len >= 8 && len <= 10_000 && (code === 0x30000 || code === 80877103 || code === 80877104);
    },
  },
  // TDS pre-login (0x12) or login7 (0x10): status EOM, length covering at least the 8-byte header.
  {
    app: 'mssql',
    test: (b) =>
      b.length >= 8 && (b[0] === 0x12 || b[0] === 0x10) && b[1] === 1 && b.readUInt16BE(2) >= 8 && b[7] === 0,
  },
  // Handshake response or SSL request: 3-byte length, sequence 1, capabilities with CLIENT_PROTOCOL_41,
  // max packet size, charset, then 23 zero bytes of filler.
  {
    app: 'mysql',
    test: (b) => {
      if (b.length < 36 || b[3] !== 1 || (b.readUInt32LE(4) & 0x200) === 0) return false;
      const len = b.readUIntLE(0, 3);
      if (len < 32 || len > 16_384) return false;
      for (let i = 13; i < 36; i++) if (b[i] !== 0) return false;
      return true;
    },
  },
  // Modbus/TCP: protocol id 0, a length matching the rest, a function code.
  {
    app: 'modbus',
    test: (b) =>
      b.length >= 8 &&
      b[2] === 0 &&
      b[3] === 0 &&
      b.readUInt16BE(4) === b.length - 6 &&
      b[7]! >= 1 &&
      b[7]! <= 0x2b,
  },
  {
    app: 'memcached',
    test: (b) => MEMCACHED_COMMANDS.has(firstWord(memcachedFrame(b))),
  },
  {
    app: 'dns',
    test: (b) =>
      isDnsQuery(b, 0) || (b.length >= 14 && b.readUInt16BE(0) === b.length - 2 && isDnsQuery(b, 2)),
  },
  {
    app: 'bacnet',
    udpOnly: true,
    test: (b) => b.length >= 4 && b[0] === 0x81 && b[1]! <= 0x0b && b.readUInt16BE(2) === b.length,
  },
  // SNMP: SEQUENCE, INTEGER version 0/1/3.
  {
    app: 'snmp',
    udpOnly: true,
    test: (b) =>
      b.length >= 10 &&
      b[0] === 0x30 &&
      (b[2] === 0x02 ? b[3] === 1 && b[4]! <= 3 : b[1] === 0x81 && b[3] === 0x02),
  },
  // NTP: version 1-4, mode client (3), control (6) or private (7, monlist).
  {
    app: 'ntp',
    udpOnly: true,
    test: (b) => {
      const v = (b[0]! >> 3) & 7;
      const mode = b[0]! & 7;
      if (v < 1 || v > 4) return false;
      return (mode === 3 && b.length >= 48) || ((mode === 6 || mode === 7) && b.length >= 8);
    },
  },
  // CoAP: version 1, token length <= 8, a request code (GET/POST/PUT/DELETE) or an empty ping.
  {
    app: 'coap',
    udpOnly: true,
    test: (b) => b.length >= 4 && b[0]! >> 6 === 1 && (b[0]! & 0x0f) <= 8 && b[1]! <= 4,
  },
];

/** Memcached's text commands follow an 8-byte frame header on UDP. */
function memcachedFrame(b: Buffer): Buffer {
  const framed = b.length > 8 && b[4] === 0 && b[5] === 1 && b[6] === 0 && b[7] === 0;
  return framed ? b.subarray(8) : b;
}

/** A DNS query at offset o: QR 0, opcode query/status, one to a few questions whose first name parses. */
function isDnsQuery(b: Buffer, o: number): boolean {
  if (b.length < o + 17) return false;
  const flags = b.readUInt16BE(o + 2);
  const qd = b.readUInt16BE(o + 4);
  if (flags & 0x8000 || (flags >> 11) & 0xf || qd < 1 || qd > 4 || b.readUInt16BE(o + 6) !== 0) return false;
  let i = o + 12;
  for (let labels = 0; labels < 64; labels++) {
    const n = b[i];
    if (n === undefined || n > 63) return false;
    if (n === 0) return i + 5 <= b.length;
    i += 1 + n;
  }
  return false;
}

/** The protocol of a session's first bytes (`unknown` when none matches). */
export function identify(first: Buffer, proto: 'tcp' | 'tls' | 'udp'): App {
  if (first.length === 0) return proto === 'tls' ? 'tls' : 'unknown';
  for (const s of SIGNATURES) {
    if (s.udpOnly && proto !== 'udp') continue;
    if (s.test(first)) return s.app;
  }
  // Decrypted TLS bytes that speak nothing known are still TLS.
  return proto === 'tls' ? 'tls' : 'unknown';
}
