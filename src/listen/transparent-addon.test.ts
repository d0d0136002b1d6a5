import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { TidewatchError } from '../core/errors.js';
import {
  closeFd,
  familyUnavailable,
  startUdpReceiver,
  transparentTcpListen,
  transparentUdpSocket,
  type ReceivedDatagram,
} from './transparent-addon.js';

const root = process.getuid?.() === 0;

test('arguments are validated before the addon sees them', () => {
  assert.throws(() => transparentTcpListen(4, '::', 39999), TidewatchError);
  assert.throws(() => transparentTcpListen(6, 'fe80::1%eth0', 39999), TidewatchError);
  assert.throws(() => transparentTcpListen(4, '0.0.0.0', 70000), TidewatchError);
  assert.throws(() => transparentUdpSocket(4, '0.0.0.0', 0), TidewatchError);
  assert.throws(() => startUdpReceiver(-1, { keep: 10 }, () => {}), TidewatchError);
  assert.throws(() => startUdpReceiver(0, { keep: 70000 }, () => {}), TidewatchError);
});

test(
  'UDP receiver: batches, original destination, full size of a truncated 65507-byte datagram (loopback)',
  { skip: !root && 'IP_TRANSPARENT needs CAP_NET_ADMIN' },
  async () => {
    // A free port: bind a throw-away socket to learn one, close it, then take it transparently.
    const probe = createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
    const port = probe.address().port;
    probe.close();
    const fd = transparentUdpSocket(4, '127.0.0.1', port);
    const got: ReceivedDatagram[] = [];
    let batches = 0;
    const rx = startUdpReceiver(fd, { keep: 100, maxBatch: 16 }, (b) => {
      batches++;
      got.push(...b);
    });
    const tx = createSocket('udp4');
    try {
      await new Promise<void>((r) => tx.bind(0, '127.0.0.1', r));
      const sends = [Buffer.from('probe'), Buffer.alloc(65507, 0x61), Buffer.alloc(0)];
      for (let i = 0; i < 40; i++) sends.push(Buffer.from(`n${i}`));
      for (const s of sends)
        await new Promise<void>((r, j) => tx.send(s, port, '127.0.0.1', (e) => (e ? j(e) : r())));
      const deadline = Date.now() + 5000;
      while (got.length < sends.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(got.length, sends.length);
      assert.ok(batches <= got.length);
      const sport = tx.address().port;
      for (const d of got) {
        assert.equal(d.src, '127.0.0.1');
        assert.equal(d.sport, sport);
        assert.equal(d.dst, '127.0.0.1');
        assert.equal(d.dport, port);
      }
      assert.equal(got[0]!.data.toString(), 'probe');
      assert.equal(got[1]!.bytes, 65507);
      assert.equal(got[1]!.data.length, 100);
      assert.ok(got[1]!.data.every((c) => c === 0x61));
      assert.equal(got[2]!.bytes, 0);
      assert.equal(got[2]!.data.length, 0);
      assert.deepEqual(
        got.slice(3).map((d) => d.data.toString()),
        sends.slice(3).map(String),
      );
      assert.equal(rx.stats().datagrams, sends.length);
    } finally {
      tx.close();
      rx.close();
      rx.close();
    }
  },
);

test(
  'socket errors from the addon carry the errno name: a port in use is named, not guessed from the text',
  { skip: !root && 'IP_TRANSPARENT needs CAP_NET_ADMIN' },
  () => {
    const fd = transparentTcpListen(4, '127.0.0.1', 39871);
    try {
      assert.throws(
        () => transparentTcpListen(4, '127.0.0.1', 39871),
        (e: unknown) =>
          e instanceof TidewatchError &&
          (e.cause as { code?: string }).code === 'EADDRINUSE' &&
          /port 39871 is in use/.test(e.message) &&
          !familyUnavailable(e),
      );
    } finally {
      closeFd(fd);
    }
  },
);
