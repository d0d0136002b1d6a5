// The responder's pure parsers: split-chunk fixtures (the same bytes cut anywhere give the same result)
// and fast-check fuzzing of hostile input (no throw, buffers bounded by their caps).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { HttpReader, MAX_HEAD_BYTES, parseHead } from './http.js';
import { identify } from './identify.js';
import { LineReader, MAX_LINE_BYTES } from './lines.js';
import { parsePersonas } from './personas-file.js';
import { echo, shellReply, splitCommands } from './shell.js';
import { MAX_KEX_BYTES, SshKexReader } from './ssh-kex.js';
import { TelnetReader } from './telnet.js';
import { dnsReply, udpReply } from './udp.js';

/** Feeds `data` cut at `cuts` through `push` and returns everything it returned. */
function chunked<T>(data: Buffer, cuts: number[], push: (d: Buffer) => T[]): T[] {
  const at = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: T[] = [];
  let prev = 0;
  for (const c of [...at, data.length]) {
    out.push(...push(data.subarray(prev, c)));
    prev = c;
  }
  return out;
}

test('LineReader: lines are the same however the bytes are split; a long line is cut at the cap', () => {
  const data = Buffer.from('USER root\r\nPASS x\ny\r\0\n\r\n');
  fc.assert(
    fc.property(fc.array(fc.nat(100)), (cuts) => {
      const r = new LineReader();
      const lines = chunked(data, cuts, (d) => r.push(d)).map(String);
      assert.deepEqual(lines, ['USER root', 'PASS x', 'y', '']);
    }),
  );
  const r = new LineReader();
  const [line] = r.push(Buffer.concat([Buffer.alloc(MAX_LINE_BYTES * 3, 0x41), Buffer.from('\n')]));
  assert.equal(line!.length, MAX_LINE_BYTES);
  assert.equal(r.dropped, MAX_LINE_BYTES * 2);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 20000 }), (b) => {
      const lr = new LineReader();
      for (const l of lr.push(Buffer.from(b))) assert.ok(l.length <= MAX_LINE_BYTES);
      assert.ok(lr.pending <= MAX_LINE_BYTES);
    }),
  );
});

test('TelnetReader: options and subnegotiation stripped, CR NUL and CR LF become LF, split anywhere', () => {
  const data = Buffer.from([
    0xff, 0xfb, 0x18, 0xff, 0xfa, 0x18, 0x00, 0x78, 0x74, 0x65, 0x72, 0x6d, 0xff, 0xf0, 0x72, 0x6f, 0x6f,
    0x74, 0x0d, 0x00, 0x70, 0xff, 0xff, 0x0d, 0x0a, 0x6c, 0x73, 0x0d,
  ]);
  fc.assert(
    fc.property(fc.array(fc.nat(40)), (cuts) => {
      const r = new TelnetReader();
      const out = Buffer.concat(chunked(data, cuts, (d) => [r.push(d)]));
      assert.deepEqual(out, Buffer.from('root\np\xff\nls', 'latin1'));
    }),
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 5000 }), (b) => {
      const out = new TelnetReader().push(Buffer.from(b));
      assert.ok(out.length <= b.length + 1);
    }),
  );
});

test('HTTP: request heads parsed with their fields, bodies skipped, split anywhere', () => {
  const data = Buffer.from(
    'POST /login?x=1 HTTP/1.1\r\nHost: a.example\r\nUser-Agent: Mozilla/5.0 zgrab\r\nContent-Length: 5\r\n\r\nu=abc' +
      'GET / HTTP/1.0\r\n\r\n',
  );
  fc.assert(
    fc.property(fc.array(fc.nat(200)), (cuts) => {
      const r = new HttpReader();
      const reqs = chunked(data, cuts, (d) => r.push(d));
      assert.equal(reqs.length, 2);
      const [a, b] = reqs as Exclude<(typeof reqs)[number], 'bad'>[];
      assert.deepEqual(
        [a!.method, a!.path, a!.host, a!.user_agent, a!.keepAlive],
        ['POST', '/login?x=1', 'a.example', 'Mozilla/5.0 zgrab', true],
      );
      assert.deepEqual([b!.method, b!.path, b!.keepAlive], ['GET', '/', false]);
    }),
  );
  assert.equal(parseHead(Buffer.from('hello')), undefined);
  const r = new HttpReader();
  r.push(Buffer.alloc(MAX_HEAD_BYTES + 10, 0x41));
  assert.equal(r.overflow, true);
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 20 }), (parts) => {
      const hr = new HttpReader();
      for (const p of parts) hr.push(Buffer.from(p));
    }),
  );
});

test('identify: first bytes pick the persona, a prefix asks for more, anything else is left alone', () => {
  const cases: [string | number[], string | undefined][] = [
    ['GET / HTTP/1.1\r\n', 'http'],
    ['GE', 'more'],
    ['SSH-2.0-OpenSSH_9.6\r\n', 'ssh'],
    ['*1\r\n$4\r\nPING\r\n', 'redis'],
    ['PING\r\n', 'redis'],
    ['*x', undefined],
    [[0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02], 'mqtt'],
    [[0x10, 0x0c, 0x00, 0x04, 0x4d], 'more'],
    [[0x10, 0x0c, 0x00, 0x05], undefined],
    ['hello', undefined],
    ['G\x00', undefined],
  ];
  for (const [input, want] of cases)
    assert.equal(identify(Buffer.from(input as string)), want, JSON.stringify(input));
  fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (b) => void identify(Buffer.from(b))));
});

test('shell: what loaders check gets its answer; output is bounded', () => {
  assert.equal(shellReply('/bin/busybox ECCHI').output, 'ECCHI: applet not found\r\n');
  assert.equal(shellReply('enable').output, '');
  assert.match(shellReply('cat /proc/mounts').output, /^rootfs \/ rootfs/);
  assert.equal(shellReply('uname').output, 'Linux\r\n');
  assert.equal(echo(['-e', '\\x41\\x42\\0103']), 'ABC\r\n');
  assert.equal(shellReply("echo -ne '\\x45\\x43'").output, 'EC');
  assert.deepEqual(splitCommands("cd /tmp; wget 'http://x/a;b' && sh a | x"), [
    'cd /tmp',
    "wget 'http://x/a;b'",
    'sh a',
    'x',
  ]);
  assert.equal(shellReply('exit').exit, true);
  fc.assert(
    fc.property(fc.string({ maxLength: 20000 }), (s) => {
      assert.ok(shellReply(s).output.length <= 4096);
    }),
  );
});

test('--personas: ports with their persona and texts; mistakes named', () => {
  const m = parsePersonas({ ports: { '2222': { persona: 'ssh', banner: 'OpenSSH_7.4' } } });
  assert.deepEqual(m.get(2222), { persona: 'ssh', text: { banner: 'OpenSSH_7.4' } });
  assert.throws(() => parsePersonas({ port: {} }), /unknown table \[port\]/);
  assert.throws(() => parsePersonas({ ports: { '70000': { persona: 'ssh' } } }), /1-65535/);
  assert.throws(() => parsePersonas({ ports: { '1': { persona: 'gopher' } } }), /one of ssh/);
  assert.throws(
    () => parsePersonas({ ports: { '1': { persona: 'http', colour: 'x' } } }),
    /unknown key colour/,
  );
});

test('SSH: identification and KEXINIT give the client and HASSH, split anywhere; garbage never throws', () => {
  const list = (s: string) => {
    const b = Buffer.alloc(4 + s.length);
    b.writeUInt32BE(s.length);
    b.write(s, 4, 'latin1');
    return b;
  };
  const names = [
    'kex1,kex2',
    'ssh-ed25519',
    'aes128-ctr',
    'aes128-ctr',
    'hmac-sha2-256',
    'hmac-sha2-256',
    'none',
    'none',
    '',
    '',
  ];
  const payload = Buffer.concat([Buffer.from([20]), Buffer.alloc(16), ...names.map(list), Buffer.alloc(5)]);
  const pad = 4;
  const packet = Buffer.concat([Buffer.alloc(5), payload, Buffer.alloc(pad)]);
  packet.writeUInt32BE(packet.length - 4);
  packet[4] = pad;
  const data = Buffer.concat([Buffer.from('SSH-2.0-Go\r\n'), packet]);
  fc.assert(
    fc.property(fc.array(fc.nat(400)), (cuts) => {
      const r = new SshKexReader();
      const infos = chunked(data, cuts, (d) => [r.push(d)]).filter((x) => x);
      assert.deepEqual(infos, [
        {
          client: 'SSH-2.0-Go',
          hassh: 'acff234468b130be6fe0a9d2f7cc8c86',
          hassh_algorithms: 'kex1,kex2;aes128-ctr;hmac-sha2-256;none',
        },
      ]);
    }),
  );
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 5000 }), { maxLength: 30 }), (parts) => {
      const r = new SshKexReader();
      for (const p of parts) r.push(Buffer.from(p));
    }),
  );
  const r = new SshKexReader();
  r.push(Buffer.from('SSH-2.0-x\r\n'));
  assert.deepEqual(r.push(Buffer.alloc(MAX_KEX_BYTES + 1, 0x7f)), { client: 'SSH-2.0-x' });
});

test('UDP replies are never larger than the request, for any bytes on any answered port', () => {
  for (const port of [53, 1900, 5060])
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
        const r = udpReply(Buffer.from(b), port, '198.18.0.1');
        assert.ok(!r || r.length <= b.length);
      }),
    );
  const q = Buffer.from(
    'abcd01000001000000000001076578616d706c6503636f6d0000010001000029100000000000000c000a0008a1b2c3d4e5f60718',
    'hex',
  );
  const r = dnsReply(q)!;
  assert.equal(r.toString('hex'), 'abcd81050001000000000000076578616d706c6503636f6d0000010001');
});
