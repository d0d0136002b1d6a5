// What a TLS handshake costs the sensor: the ECDSA P-256 certificate for every client that can use it, RSA
// only for clients that cannot (forced with openssl s_client -sigalgs / -cipher), and the handshake budget:
// hellos beyond it are recorded as plain TCP with their ClientHello fields, closed, and counted.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, startSensor } from '../helpers/sensor.js';
import { createTestbed, isRoot, type Testbed } from '../helpers/testbed.js';
import * as sc from './listener-scenarios.js';

const skip = isRoot() ? false : 'needs root (network namespaces)';
const PORT = 20443;
/** Parallel clients from one address against a budget of one handshake per second per source. */
const BURST = 8;

describe('listener, TLS cost', { skip }, () => {
  let bed: Testbed;
  let t: sc.ListenerTarget;

  before(async () => {
    bed = await createTestbed();
    const sensor = await startSensor(bed, [
      ...['--store', 'off', '--geoip', 'off', '--http', '127.0.0.1:8339', '--idle-timeout', '2s'],
      ...['--tcp-ports', String(PORT), '--udp-ports', '', '--tls-handshake-rate-source', '1'],
    ]);
    t = {
      bed,
      sensor,
      host4: bed.sensorIp,
      host6: bed.sensorIp6,
      tcpPorts: [PORT],
      udpPorts: [],
      bufsize: 8192,
    };
  });
  after(async () => {
    await t?.sensor.stop().catch(() => {});
    await bed?.destroy();
  });

  /** The server's key as s_client reports it, for one handshake with the given extra flags. */
  async function serverKey(flags: string[]): Promise<{ bits: string; sig: string }> {
    await new Promise((r) => setTimeout(r, 1100)); // a fresh one-second budget window
    const out = await bed.exec(
      bed.scannerNs,
      'openssl',
      ['s_client', '-connect', `${bed.sensorIp}:${PORT}`, ...flags],
      { input: 'Q\n', timeoutMs: 15_000 },
    );
    const bits =
      /Server public key is (\d+) bit/.exec(out.stdout)?.[1] ?? `none: ${out.stdout.slice(0, 300)}`;
    const sig = /Peer signature type: (\S+)/.exec(out.stdout + out.stderr)?.[1] ?? 'none';
    return { bits, sig };
  }

  test('ECDSA P-256 is served first, to TLS 1.3 and TLS 1.2 clients', async () => {
    assert.deepEqual(await serverKey([]), { bits: '256', sig: 'ECDSA' });
    assert.deepEqual(await serverKey(['-tls1_2']), { bits: '256', sig: 'ECDSA' });
    // The client prefers RSA-PSS but accepts ECDSA: the server's order wins.
    assert.deepEqual(await serverKey(['-sigalgs', 'RSA-PSS+SHA256:ECDSA+SHA256']), {
      bits: '256',
      sig: 'ECDSA',
    });
  });

  test('RSA only for clients that cannot use ECDSA', async () => {
    assert.equal((await serverKey(['-sigalgs', 'RSA-PSS+SHA256:RSA+SHA256'])).bits, '2048');
    assert.equal((await serverKey(['-tls1_2', '-cipher', 'AES128-SHA'])).bits, '2048');
    assert.equal((await serverKey(['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256'])).bits, '2048');
  });

  test('beyond the per-source budget: recorded as plain TCP with JA3/JA4/SNI, closed, counted', async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const tag = `burst${Date.now()}`;
    const snis = [...Array(BURST).keys()].map((i) => `${tag}-${i}.example`);
    await Promise.all(
      snis.map((sni) =>
        bed.exec(
          bed.scannerNs,
          'openssl',
          ['s_client', '-connect', `${bed.sensorIp}:${PORT}`, '-servername', sni],
          { input: 'Q\n', timeoutMs: 15_000 },
        ),
      ),
    );
    const recs = await eventually(() => {
      const rs = sc.records(t).filter((r) => r.tls?.sni?.startsWith(tag));
      return rs.length === BURST ? rs : undefined;
    }, 15_000);
    assert.ok(recs, 'one record per client');
    const over = recs.filter((r) => r.flow.proto === 'tcp');
    const done = recs.filter((r) => r.flow.proto === 'tls');
    assert.ok(over.length >= 1, 'some hellos were over the budget');
    assert.ok(done.length >= 1, 'the budget admitted the first of the second');
    for (const r of over) {
      assert.equal(r.close, 'shed');
      assert.match(r.tls!.ja3_hash!, /^[0-9a-f]{32}$/);
      assert.match(r.tls!.ja4, /^t13d/);
      // The ClientHello itself is the payload: a handshake record.
      assert.equal(sc.payloadOf(r)[0], 0x16);
    }
    const metrics = await bed.exec(bed.sensorNs, 'curl', ['-s', 'http://127.0.0.1:8339/metrics']);
    const counted = /^tidewatch_listener_tls_over_budget_total (\d+)$/m.exec(metrics.stdout)?.[1];
    assert.equal(Number(counted), over.length);
  });
});
