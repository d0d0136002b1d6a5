// --respond-udp: dig against UDP 53 gets a reply no larger than its query; with it off, no reply at all.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isRoot } from '../helpers/testbed.js';
import { sentText, startRespondBed } from './respond-lib.js';
import { addDecoyRoutes } from './tproxy-helpers.js';

const skip = isRoot() ? false : 'needs root (network namespaces)';

/** dig's query size and the reply size it reports ("MSG SIZE  rcvd: N"), or undefined without a reply. */
const DIG = ['+tries=1', '+time=2', '-p', '53'];

describe('responder: UDP', { skip }, () => {
  test('--respond-udp on: dig gets a REFUSED reply no larger than the query, recorded as sent', async () => {
    const rb = await startRespondBed(['--tcp-ports', '', '--udp-ports', '53', '--respond-udp', 'on']);
    try {
      const r = await rb.run('dig', [...DIG, `@${rb.bed.sensorIp}`, 'example.com', 'A']);
      assert.match(r.stdout, /status: REFUSED/);
      const rcvd = Number(/MSG SIZE\s+rcvd: (\d+)/.exec(r.stdout)?.[1]);
      const rec = await rb.find(53, (x) => !!x.sent);
      const query = Buffer.from(rec.payloads[0]!.data, 'base64');
      assert.ok(rcvd > 0 && rcvd <= query.length, `reply ${rcvd} bytes, query ${query.length}`);
      assert.equal(sentText(rec).length, rcvd);
    } finally {
      await rb.close();
    }
  });

  test('--respond-udp on in tproxy mode: the reply comes from the address dig asked', async () => {
    const rb = await startRespondBed([
      '--listen',
      'tproxy',
      '--tls',
      'off',
      '--tcp-ports',
      '',
      '--udp-ports',
      '53',
      '--respond-udp',
      'on',
    ]);
    try {
      await addDecoyRoutes(rb.bed);
      // dig drops a reply from any other address than the one it asked ("reply from unexpected source").
      const r = await rb.run('dig', [...DIG, '@198.18.1.7', 'example.com', 'A']);
      assert.match(r.stdout, /status: REFUSED/);
      assert.match(r.stdout, /SERVER: 198\.18\.1\.7#53/);
      const rec = await rb.find(53, (x) => !!x.sent);
      assert.equal(rec.flow.dst, '198.18.1.7');
    } finally {
      await rb.close();
    }
  });

  test('--respond-udp off (the default): no reply', async () => {
    const rb = await startRespondBed(['--tcp-ports', '', '--udp-ports', '53']);
    try {
      const r = await rb.run('dig', [...DIG, `@${rb.bed.sensorIp}`, 'example.com', 'A']);
      assert.match(r.stdout, /timed out|no servers could be reached/);
      const rec = await rb.find(53);
      assert.equal(rec.sent, undefined);
    } finally {
      await rb.close();
    }
  });
});
