import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toTsusenCsv, TSUSEN_HEADER, withBaseline } from './api.js';

test("Tsusen's CSV: header, space-separated rows, unix seconds, '-' for a missing port", () => {
  const csv = toTsusenCsv([
    {
      proto: 'TCP',
      dst_port: 1080,
      dst_ip: '192.0.2.1',
      src_ip: '198.51.100.7',
      first_seen: 1446188056,
      last_seen: 1446188056,
      count: 1,
    },
    {
      proto: 'ICMP',
      dst_port: null,
      dst_ip: '192.0.2.1',
      src_ip: '2001:db8::1',
      first_seen: 1,
      last_seen: 2,
      count: 3,
    },
  ]);
  assert.equal(
    csv,
    `${TSUSEN_HEADER}\nTCP 1080 192.0.2.1 198.51.100.7 1446188056 1446188056 1\nICMP - 192.0.2.1 2001:db8::1 1 2 3\n`,
  );
  // A field can never break the columns (or start a spreadsheet formula).
  const odd = toTsusenCsv([
    { proto: 'T CP', dst_port: 1, dst_ip: '=cmd', src_ip: 'a\nb', first_seen: 1, last_seen: 1, count: 1 },
  ]);
  assert.equal(odd.split('\n')[1], 'T_CP 1 _cmd a_b 1 1 1');
});

test('baseline: trailing mean of the previous points, the point itself left out', () => {
  const pts = [5, 5, 5, 50, 5].map((n, i) => ({ t: i, all: n, new: n }));
  const b = withBaseline(pts, 3).map((p) => p.baseline);
  assert.deepEqual(b, [5, 5, 5, 5, 20]);
});
