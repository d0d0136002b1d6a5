// SIGKILL in the middle of a payload flood: the next start cuts a torn last JSON line back (counted in its
// log) and the SQLite store opens cleanly (integrity_check ok); every line left in the sessions files parses.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { startSensor, tempDir } from '../helpers/sensor.js';
import { isRoot, type Testbed, withTestbed } from '../helpers/testbed.js';

const skip = isRoot() ? false : 'needs root (network namespaces)';
const PORTS = '8080-8089';
const ARGS = ['--http', 'off', '--geoip', 'off', '--tls', 'off', '--tcp-ports', PORTS, '--udp-ports', ''];

/** Node in the scanner namespace: up to `max` connections for at most `ms`, each sending 2 KB. */
function flood(bed: Testbed, max: number, ms: number) {
  const script = `
    const net = require('node:net');
    const end = Date.now() + ${ms}; let n = 0, open = 0;
    const payload = Buffer.alloc(2048, 0x41);
    const one = () => {
      if (n >= ${max} || Date.now() > end) { if (open === 0) process.exit(0); return; }
      n++; open++;
      const s = net.connect(8080 + (n % 10), '${bed.sensorIp}', () => s.end(payload));
      s.on('error', () => {}); s.on('close', () => { open--; one(); });
    };
    for (let i = 0; i < 64; i++) one();`;
  return bed.spawn(bed.scannerNs, process.execPath, ['-e', script]);
}

const sessionFiles = (dir: string): string[] =>
  existsSync(join(dir, 'sessions'))
    ? readdirSync(join(dir, 'sessions')).map((f) => join(dir, 'sessions', f))
    : [];

test(
  'SIGKILL mid-flood: next start clean, no torn line, SQLite integrity ok',
  { skip, timeout: 120_000 },
  () =>
    withTestbed(async (bed) => {
      const dataDir = tempDir();
      const first = await startSensor(bed, ARGS, { dataDir });
      const f = flood(bed, 20_000, 15_000);
      try {
        await first.waitForLog(/"msg":"(sessions file|store|torn)|session/, 5_000).catch(() => '');
        await new Promise((r) => setTimeout(r, 2_000));
        first.proc.kill('SIGKILL');
        assert.equal(await first.exited, 'SIGKILL');
      } finally {
        f.kill('SIGKILL');
      }
      const files = sessionFiles(dataDir);
      assert.ok(files.length > 0, 'the flood wrote sessions before the kill');
      // Whatever the kill left, make sure the last line is torn: the next start must cut it back.
      const today = files.sort().at(-1)!;
      appendFileSync(today, '{"timestamp":"2026-');
      const second = await startSensor(bed, ARGS, { dataDir });
      try {
        // One more session opens today's file again.
        await bed.exec(bed.scannerNs, process.execPath, [
          '-e',
          `const s=require('node:net').connect(8080,'${bed.sensorIp}',()=>s.end('after the kill'));s.on('close',()=>{})`,
        ]);
        await second.waitForLog(/"msg":"torn last line cut back"/, 15_000);
      } finally {
        assert.equal(await second.stop(), 0);
      }
      for (const file of sessionFiles(dataDir)) {
        const lines = readFileSync(file, 'utf8').split('\n');
        assert.equal(lines.pop(), '', `${file} ends with a newline`);
        for (const l of lines) JSON.parse(l);
      }
      const db = new Database(join(dataDir, 'tidewatch.db'), { readonly: true });
      try {
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
        const n = (db.prepare('SELECT count(*) n FROM sessions').get() as { n: number }).n;
        assert.ok(n > 0, 'sessions from before the kill are in the store');
      } finally {
        db.close();
      }
    }),
);
