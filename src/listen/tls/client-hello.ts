// TLS ClientHello: a pure parser (bytes in, typed values out), capped, working on split chunks and on a
// ClientHello fragmented over several records. Written by hand because the fields JA3/JA4 need (GREASE
// included, original order) are not exposed by Node's TLS stack, and no maintained npm parser keeps them.
// RFC 8446 §4.1.2 (ClientHello), RFC 6066 §3 (server_name), RFC 7301 (ALPN).

export interface ClientHello {
  /** legacy_version of the ClientHello body (0x0303 for TLS 1.2 and 1.3). */
  version: number;
  /** supported_versions extension (43), in order, GREASE included. */
  supportedVersions: number[];
  /** Cipher suites in order, GREASE included. */
  ciphers: number[];
  /** Extension types in order, GREASE included. */
  extensions: number[];
  sni?: string;
  alpn: string[];
  /** supported_groups (10), in order. */
  groups: number[];
  /** ec_point_formats (11). */
  pointFormats: number[];
  /** signature_algorithms (13), in order. */
  sigAlgs: number[];
}

const RECORD_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const RECORD_HEADER = 5;
/** RFC 8446 §5.1: a plaintext record carries at most 2^14 bytes. */
const MAX_RECORD = 1 << 14;
/** Default cap on what we buffer for one ClientHello (post-quantum key shares make them ~2 KB). */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

export type Sniff = 'tls' | 'plain' | 'more';

/** Decides from the first bytes of a connection whether a TLS ClientHello is starting. */
export function sniffTls(head: Buffer): Sniff {
  const checks: ((b: number) => boolean)[] = [
    (b) => b === RECORD_HANDSHAKE,
    (b) => b === 0x03, // record version major
    (b) => b <= 0x04, // minor: SSL 3.0 .. TLS 1.3
    () => true, // length high
    () => true, // length low
    (b) => b === HANDSHAKE_CLIENT_HELLO,
  ];
  for (let i = 0; i < checks.length; i++) {
    if (i >= head.length) return 'more';
    if (!checks[i]!(head[i]!)) return 'plain';
  }
  const recordLen = head.readUInt16BE(3);
  return recordLen >= 4 && recordLen <= MAX_RECORD + 2048 ? 'tls' : 'plain';
}

/** Thrown-free bounded reader over one buffer: every read checks the length first. */
class Reader {
  constructor(
    private readonly buf: Buffer,
    public pos = 0,
    private readonly end = buf.length,
  ) {}
  get left(): number {
    return this.end - this.pos;
  }
  u8(): number | undefined {
    return this.left >= 1 ? this.buf[this.pos++] : undefined;
  }
  u16(): number | undefined {
    if (this.left < 2) return undefined;
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  bytes(n: number): Buffer | undefined {
    if (this.left < n) return undefined;
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  /** A sub-reader over a length-prefixed vector (1 or 2 byte length). */
  vector(lenBytes: 1 | 2): Reader | undefined {
    const n = lenBytes === 1 ? this.u8() : this.u16();
    if (n === undefined || this.left < n) return undefined;
    const r = new Reader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }
}

function u16List(r: Reader | undefined): number[] | undefined {
  if (!r || r.left % 2) return undefined;
  const out: number[] = [];
  while (r.left) out.push(r.u16()!);
  return out;
}

/** Parses a complete ClientHello handshake body (after the 4-byte handshake header). */
export function parseClientHelloBody(body: Buffer): ClientHello | Error {
  const r = new Reader(body);
  const version = r.u16();
  if (version === undefined || !r.bytes(32)) return new Error('ClientHello too short');
  const sessionId = r.vector(1);
  if (!sessionId || sessionId.left > 32) return new Error('bad session id');
  const ciphers = u16List(r.vector(2));
  if (!ciphers) return new Error('bad cipher suites');
  if (!r.vector(1)) return new Error('bad compression methods');
  const ch: ClientHello = {
    version,
    supportedVersions: [],
    ciphers,
    extensions: [],
    alpn: [],
    groups: [],
    pointFormats: [],
    sigAlgs: [],
  };
  if (r.left === 0) return ch; // no extensions (SSL 3.0 style)
  const exts = r.vector(2);
  if (!exts) return new Error('bad extensions length');
  while (exts.left) {
    const type = exts.u16();
    const data = exts.vector(2);
    if (type === undefined || !data) return new Error('truncated extension');
    ch.extensions.push(type);
    parseExtension(ch, type, data);
  }
  return ch;
}

/** Fills the fields JA3/JA4 and the session record need; malformed extension data is ignored, not fatal. */
function parseExtension(ch: ClientHello, type: number, data: Reader): void {
  switch (type) {
    case 0: {
      const list = data.vector(2);
      while (list && list.left) {
        const nameType = list.u8();
        const name = list.vector(2);
        if (nameType === undefined || !name) break;
        const bytes = name.bytes(name.left)!;
        if (nameType === 0 && ch.sni === undefined) ch.sni = bytes.toString('latin1');
      }
      break;
    }
    case 16: {
      const list = data.vector(2);
      while (list && list.left) {
        const proto = list.vector(1);
        if (!proto) break;
        ch.alpn.push(proto.bytes(proto.left)!.toString('latin1'));
      }
      break;
    }
    case 10:
      ch.groups = u16List(data.vector(2)) ?? [];
      break;
    case 11: {
      const v = data.vector(1);
      while (v && v.left) ch.pointFormats.push(v.u8()!);
      break;
    }
    case 13:
      ch.sigAlgs = u16List(data.vector(2)) ?? [];
      break;
    case 43: {
      const v = data.vector(1);
      ch.supportedVersions = v && v.left % 2 === 0 ? (u16List(v) ?? []) : [];
      break;
    }
  }
}

/**
 * Bytes appended into one buffer whose capacity doubles (up to a cap): n bytes over k reads cost O(n)
 * copying, where concatenating everything again at each read would cost O(n·k).
 */
class Accumulator {
  private buf = Buffer.alloc(0);
  length = 0;

  constructor(private readonly cap: number) {}

  append(b: Buffer): void {
    const need = this.length + b.length;
    if (need > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(need, Math.min(this.cap, Math.max(512, 2 * this.buf.length))));
      this.buf.copy(next, 0, 0, this.length);
      this.buf = next;
    }
    b.copy(this.buf, this.length);
    this.length = need;
  }

  /** The bytes so far (a view: valid until the next append). */
  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

/**
 * Incremental reader: push the bytes of a connection as they come; it returns the ClientHello once the
 * handshake message is complete (even when split over several records), 'more' until then, or an Error
 * when the bytes are not a ClientHello or exceed maxBytes. Each byte is copied a bounded number of times.
 */
export class ClientHelloReader {
  private readonly stream: Accumulator;
  private consumed = 0; // bytes of the stream already taken as records
  private readonly handshake: Accumulator;
  private result: ClientHello | Error | undefined;

  constructor(private readonly maxBytes = MAX_CLIENT_HELLO_BYTES) {
    this.stream = new Accumulator(maxBytes);
    this.handshake = new Accumulator(maxBytes);
  }

  push(chunk: Buffer): ClientHello | 'more' | Error {
    if (this.result) return this.result;
    if (this.stream.length + chunk.length > this.maxBytes)
      return (this.result = new Error(`ClientHello over ${this.maxBytes} bytes`));
    this.stream.append(chunk);
    const data = this.stream.view();
    while (data.length - this.consumed >= RECORD_HEADER) {
      const at = this.consumed;
      if (data[at] !== RECORD_HANDSHAKE || data[at + 1] !== 0x03)
        return (this.result = new Error('not a handshake record'));
      const len = data.readUInt16BE(at + 3);
      if (len === 0 || len > MAX_RECORD + 2048) return (this.result = new Error('bad record length'));
      if (data.length - at - RECORD_HEADER < len) break;
      this.handshake.append(data.subarray(at + RECORD_HEADER, at + RECORD_HEADER + len));
      this.consumed += RECORD_HEADER + len;
      const done = this.tryHandshake();
      if (done) return (this.result = done);
    }
    return 'more';
  }

  private tryHandshake(): ClientHello | Error | undefined {
    if (this.handshake.length < 4) return undefined;
    const hs = this.handshake.view();
    if (hs[0] !== HANDSHAKE_CLIENT_HELLO) return new Error('first handshake message is not a ClientHello');
    const bodyLen = hs.readUIntBE(1, 3);
    if (bodyLen > this.maxBytes) return new Error('ClientHello length over the cap');
    if (hs.length < 4 + bodyLen) return undefined;
    return parseClientHelloBody(hs.subarray(4, 4 + bodyLen)); // keeps numbers and strings, no view
  }
}
