import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { test } from 'node:test';
import fc from 'fast-check';
import { type ClientHello, ClientHelloReader, sniffTls } from './client-hello.js';
import { ja3, ja4, tlsVersionName } from './fingerprint.js';

/** Encodes a ClientHello into one handshake message (for round trips), then into records of recordSize. */
function encode(ch: ClientHello, recordSize = 16384): Buffer {
  const u16 = (v: number) => Buffer.from([v >> 8, v & 0xff]);
  const vec2 = (b: Buffer) => Buffer.concat([u16(b.length), b]);
  const vec1 = (b: Buffer) => Buffer.concat([Buffer.from([b.length]), b]);
  const list16 = (xs: number[]) => Buffer.concat(xs.map(u16));
  const extData = (type: number): Buffer => {
    switch (type) {
      case 0:
        return ch.sni === undefined
          ? Buffer.alloc(0)
          : vec2(Buffer.concat([Buffer.from([0]), vec2(Buffer.from(ch.sni, 'latin1'))]));
      case 16:
        return vec2(Buffer.concat(ch.alpn.map((p) => vec1(Buffer.from(p, 'latin1')))));
      case 10:
        return vec2(list16(ch.groups));
      case 11:
        return vec1(Buffer.from(ch.pointFormats));
      case 13:
        return vec2(list16(ch.sigAlgs));
      case 43:
        return vec1(list16(ch.supportedVersions));
      default:
        return Buffer.alloc(0);
    }
  };
  const exts = Buffer.concat(ch.extensions.map((t) => Buffer.concat([u16(t), vec2(extData(t))])));
  const body = Buffer.concat([
    u16(ch.version),
    Buffer.alloc(32, 7),
    vec1(Buffer.alloc(32, 1)),
    vec2(list16(ch.ciphers)),
    vec1(Buffer.from([0])),
    vec2(exts),
  ]);
  const hs = Buffer.concat([
    Buffer.from([1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]),
    body,
  ]);
  const records: Buffer[] = [];
  for (let i = 0; i < hs.length; i += recordSize) {
    const frag = hs.subarray(i, i + recordSize);
    records.push(Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), u16(frag.length), frag]));
  }
  return Buffer.concat(records);
}

const CHROME: ClientHello = {
  version: 0x0303,
  supportedVersions: [0x3a3a, 0x0304, 0x0303],
  // JA4 README example (Chrome), with GREASE values mixed in that must be ignored.
  ciphers: [
    0x0a0a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c,
    0x009d, 0x002f, 0x0035,
  ],
  extensions: [
    0x2a2a, 0x0000, 0x0017, 0xff01, 0x000a, 0x000b, 0x0023, 0x0010, 0x0005, 0x000d, 0x0012, 0x0033, 0x002d,
    0x002b, 0x001b, 0x0015, 0x4469, 0x1a1a,
  ],
  sni: 'example.com',
  alpn: ['h2', 'http/1.1'],
  groups: [0x1a1a, 0x001d, 0x0017, 0x0018],
  pointFormats: [0],
  sigAlgs: [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601],
};

test('JA4 matches the FoxIO reference example', () => {
  assert.equal(ja4(CHROME), 't13d1516h2_8daaf6152771_e5627efa2ab1');
  assert.equal(ja4({ ...CHROME, sni: undefined, alpn: [] }).slice(0, 10), 't13i151600');
  assert.equal(ja4({ ...CHROME, alpn: ['\xab\x01'] }).slice(8, 10), 'a1', 'non-alphanumeric ALPN uses hex');
  assert.match(ja4({ ...CHROME, ciphers: [], extensions: [] }), /_000000000000_000000000000$/);
});

test('JA3 matches the Salesforce reference example', () => {
  const ch: ClientHello = {
    version: 769,
    supportedVersions: [],
    ciphers: [47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4],
    extensions: [0, 10, 11],
    alpn: [],
    groups: [23, 24, 25],
    pointFormats: [0],
    sigAlgs: [],
  };
  assert.deepEqual(ja3(ch), {
    text: '769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0',
    hash: 'ada70206e40642a3e4461f35503241d5',
  });
  assert.equal(tlsVersionName(0x0304), 'TLSv1.3');
  assert.equal(tlsVersionName(0x7f1c), '0x7f1c');
});

test('sniffing tells TLS from plaintext with as few bytes as it can', () => {
  assert.equal(sniffTls(Buffer.from('GET / HTTP/1.1\r\n')), 'plain');
  assert.equal(sniffTls(Buffer.from('SSH-2.0-OpenSSH\r\n')), 'plain');
  assert.equal(sniffTls(Buffer.alloc(0)), 'more');
  assert.equal(sniffTls(Buffer.from([0x16, 0x03])), 'more');
  assert.equal(sniffTls(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])), 'tls');
  assert.equal(
    sniffTls(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x02])),
    'plain',
    'ServerHello is not a client',
  );
  assert.equal(sniffTls(Buffer.from([0x16, 0x03, 0x09, 0x02, 0x00, 0x01])), 'plain');
  assert.equal(
    sniffTls(Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff, 0x01])),
    'plain',
    'record length over the cap',
  );
});

test('round trip through records, whole, byte by byte and fragmented', () => {
  const wire = encode(CHROME);
  const whole = new ClientHelloReader().push(wire);
  assert.ok(!(whole instanceof Error) && whole !== 'more');
  assert.deepEqual(whole, CHROME);
  const r = new ClientHelloReader();
  let out: ReturnType<ClientHelloReader['push']> = 'more';
  for (let i = 0; i < wire.length; i++) {
    out = r.push(wire.subarray(i, i + 1));
    if (i < wire.length - 1) assert.equal(out, 'more', `complete too early at byte ${i}`);
  }
  assert.deepEqual(out, CHROME);
  assert.deepEqual(new ClientHelloReader().push(encode(CHROME, 37)), CHROME, 'handshake split over records');
});

test('caps and garbage give an Error, never a throw', () => {
  const wire = encode({ ...CHROME, sni: 'x'.repeat(3000) });
  assert.ok(new ClientHelloReader(1000).push(wire) instanceof Error);
  assert.ok(new ClientHelloReader().push(Buffer.from('GET / HTTP/1.0\r\n\r\n')) instanceof Error);
  const bogus = Buffer.from(wire);
  bogus.writeUInt16BE(0xffff, 5 + 4 + 2 + 32 + 33); // cipher list length past the end
  assert.ok(new ClientHelloReader().push(bogus) instanceof Error);
});

test('a real ClientHello from Node (OpenSSL) parses with SNI and ALPN', async () => {
  const first = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const server = createServer((sock) => {
      sock.on('data', (d: Buffer) => {
        chunks.push(d);
        const got = new ClientHelloReader().push(Buffer.concat(chunks));
        if (got !== 'more') {
          sock.destroy();
          server.close();
          resolve(Buffer.concat(chunks));
        }
      });
    }).listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      const c = connect({
        port,
        host: '127.0.0.1',
        servername: 'probe.example',
        ALPNProtocols: ['h2', 'http/1.1'],
      });
      c.on('error', () => {});
    });
    server.on('error', reject);
  });
  const ch = new ClientHelloReader().push(first);
  assert.ok(!(ch instanceof Error) && ch !== 'more', String(ch));
  assert.equal(ch.sni, 'probe.example');
  assert.deepEqual(ch.alpn, ['h2', 'http/1.1']);
  assert.ok(ch.supportedVersions.includes(0x0304));
  assert.match(ja4(ch), /^t13d\d{4}h2_[0-9a-f]{12}_[0-9a-f]{12}$/);
  assert.match(ja3(ch).hash, /^[0-9a-f]{32}$/);
});

const u16 = fc.integer({ min: 0, max: 0xffff });
const helloArb: fc.Arbitrary<ClientHello> = fc.record({
  version: fc.constantFrom(0x0300, 0x0301, 0x0302, 0x0303),
  supportedVersions: fc.array(u16, { maxLength: 6 }),
  ciphers: fc.array(u16, { maxLength: 60 }),
  extensions: fc.uniqueArray(u16, { maxLength: 20 }),
  sni: fc.option(
    fc.string({ maxLength: 80 }).map((s) => Buffer.from(s).toString('latin1')),
    { nil: undefined },
  ),
  alpn: fc.array(
    fc.string({ minLength: 1, maxLength: 20 }).map((s) => Buffer.from(s).toString('latin1')),
    { maxLength: 4 },
  ),
  groups: fc.array(u16, { maxLength: 10 }),
  pointFormats: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 4 }),
  sigAlgs: fc.array(u16, { maxLength: 20 }),
});

/** Fields are only parsed when their extension is present: normalise the expectation the same way. */
function expected(ch: ClientHello): ClientHello {
  const has = (t: number) => ch.extensions.includes(t);
  return {
    ...ch,
    supportedVersions: has(43) ? ch.supportedVersions : [],
    sni: has(0) ? ch.sni : undefined,
    alpn: has(16) ? ch.alpn : [],
    groups: has(10) ? ch.groups : [],
    pointFormats: has(11) ? ch.pointFormats : [],
    sigAlgs: has(13) ? ch.sigAlgs : [],
  };
}

test('property: any ClientHello survives encode → split chunks → parse', () => {
  fc.assert(
    fc.property(
      helloArb,
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 50 }),
      fc.integer({ min: 20, max: 16384 }),
      (ch, cuts, recordSize) => {
        const wire = encode(ch, recordSize);
        const r = new ClientHelloReader();
        let out: ReturnType<ClientHelloReader['push']> = 'more';
        let at = 0;
        for (let i = 0; out === 'more' && at < wire.length; i++) {
          const n = cuts[i % cuts.length]!;
          out = r.push(wire.subarray(at, at + n));
          at += n;
        }
        const want = expected(ch);
        if (want.sni === undefined) delete want.sni;
        const got = out as ClientHello;
        if (got.sni === undefined) delete got.sni;
        assert.deepEqual(got, want);
      },
    ),
    { numRuns: 300 },
  );
});

test('property: random and mutated bytes never throw and never read past the input', () => {
  const valid = encode(CHROME);
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 600 }),
      fc.integer({ min: 0, max: valid.length }),
      fc.integer({ min: 0, max: 255 }),
      (noise, pos, byte) => {
        const r1 = new ClientHelloReader(4096).push(Buffer.from(noise));
        assert.ok(r1 === 'more' || r1 instanceof Error || typeof r1 === 'object');
        const mutated = Buffer.from(valid);
        if (pos < mutated.length) mutated[pos] = byte;
        const r2 = new ClientHelloReader().push(mutated.subarray(0, Math.max(pos, 1)));
        assert.ok(r2 === 'more' || r2 instanceof Error || typeof r2 === 'object');
        assert.ok(['tls', 'plain', 'more'].includes(sniffTls(Buffer.from(noise))));
      },
    ),
    { numRuns: 2000 },
  );
});
