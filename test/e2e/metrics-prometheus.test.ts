// A real Prometheus (Debian's) scrapes the live sensor's /metrics on --http; we query its HTTP API for
// tidewatch_ series. Everything runs inside the sensor namespace on its own 127.0.0.1.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { eventually, startSensor, tempDir } from '../helpers/sensor.js';
import { createTestbed, isRoot, type Testbed } from '../helpers/testbed.js';
import { openScan, sensorArgs } from './scanners-lib.js';

const skip = !isRoot() && 'needs root';
let bed: Testbed;
before(async () => {
  if (!skip) bed = await createTestbed();
});
after(async () => bed?.destroy());

// The namespace is ours alone, so fixed ports cannot clash with anything else on the machine.
const HTTP = '127.0.0.1:18339';
const PROM = '127.0.0.1:19090';

async function get(url: string): Promise<string> {
  const r = await bed.exec(bed.sensorNs, 'curl', ['-sf', '-m', '5', url]);
  return r.code === 0 ? r.stdout : '';
}

async function promQuery(q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const body = await get(`http://${PROM}/api/v1/query?query=${encodeURIComponent(q)}`);
  if (!body) return [];
  const j = JSON.parse(body) as {
    status: string;
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  return j.status === 'success' ? j.data.result : [];
}

test('Prometheus scrapes the sensor and answers queries for tidewatch_ series', { skip }, async () => {
  const s = await startSensor(
    bed,
    sensorArgs(bed, ['--block', 'dry-run', '--block-spoofable', '--metrics-top-ports', '5'], HTTP),
  );
  const dir = tempDir('tw-prom-');
  writeFileSync(
    join(dir, 'prom.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      'scrape_configs:',
      '  - job_name: tidewatch',
      '    static_configs:',
      `      - targets: ['${HTTP}']`,
      '',
    ].join('\n'),
  );
  const prom = bed.spawn(bed.sensorNs, 'prometheus', [
    `--config.file=${join(dir, 'prom.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=${PROM}`,
  ]);
  try {
    // Some traffic: sessions, and a scan that dry-run would block.
    for (let i = 0; i < 3; i++)
      await bed.exec(bed.scannerNs, 'nc', ['-N', '-w', '1', bed.sensorIp, '80'], {
        input: 'GET / HTTP/1.0\r\n\r\n',
      });
    await bed.exec(bed.scannerNs, 'nmap', [
      '-n',
      '-Pn',
      '-sS',
      '-p',
      '1-100',
      '--max-retries',
      '0',
      bed.sensorIp,
    ]);
    await openScan(s, bed.scannerIp);

    // Our own scrape first: labels stay bounded (5 ports + "other").
    const text = await get(`http://${HTTP}/metrics`);
    assert.match(text, /^tidewatch_process_cpu_user_seconds_total /m);
    const portSeries = text.match(/^tidewatch_connection_attempts_total\{proto="tcp",port="\d+"\}/gm) ?? [];
    assert.equal(
      portSeries.length,
      5,
      text
        .split('\n')
        .filter((l) => l.includes('attempts'))
        .join('\n'),
    );
    assert.match(text, /^tidewatch_connection_attempts_total\{proto="tcp",port="other"\} \d+/m);

    const up = await eventually(
      async () => (await promQuery('up{job="tidewatch"}')).find((r) => r.value[1] === '1'),
      30_000,
      500,
    );
    assert.ok(up, 'target up in Prometheus');
    const sessions = await eventually(
      async () => {
        const r = await promQuery('sum(tidewatch_sessions_total)');
        return r.length && Number(r[0]!.value[1]) >= 3 ? r : undefined;
      },
      20_000,
      500,
    );
    assert.ok(sessions, 'tidewatch_sessions_total reached Prometheus');
    const scansSeries = await eventually(
      async () => (await promQuery('tidewatch_scans_total{tool="nmap",probe="syn"}')).length > 0,
      20_000,
      500,
    );
    assert.ok(scansSeries, 'scans by tool and probe');
    const dry = await eventually(
      async () => (await promQuery('tidewatch_blocks_dry_run_total')).some((r) => r.value[1] === '1'),
      20_000,
      500,
    );
    assert.ok(dry, 'block counters from ctx.stats');
    const attempts = await promQuery('count(tidewatch_connection_attempts_total)');
    assert.ok(Number(attempts[0]?.value[1]) <= 7, 'bounded port labels in Prometheus too');
  } finally {
    prom.kill('SIGTERM');
    await new Promise((r) => (prom.exitCode !== null ? r(null) : prom.once('exit', r)));
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
