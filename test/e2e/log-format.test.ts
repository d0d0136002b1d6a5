// The operational log on a terminal: `tidewatch run` under a pseudo-terminal (script(1)) in the test bed
// writes one readable line per event, its first lines saying in plain words where the data goes, how many
// ports it bound and where the dashboard is; --log-format json keeps JSON lines there too. (Every other
// test reads the log from a pipe, where it stays JSON.)
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { CLI, tempDir } from '../helpers/sensor.js';
import { createTestbed, isRoot, type Testbed } from '../helpers/testbed.js';

const skip = !isRoot() ? 'needs root (network namespaces)' : false;
// eslint-disable-next-line no-control-regex -- escape sequences are what is matched
const ANSI = /\u001b\[[0-9;]*m/g;

describe('log on a terminal', { skip }, () => {
  let bed: Testbed;
  before(async () => {
    bed = await createTestbed();
  });
  after(() => bed?.destroy());

  /** The terminal's output of a sensor started with args, up to its "sensor ready" line (30 s at most). */
  async function onTerminal(args: string[]): Promise<string[]> {
    const dataDir = tempDir();
    const cmd = [process.execPath, CLI, 'run', '--data-dir', dataDir, '--sensor', 'tty', ...args].join(' ');
    const p = bed.spawn(bed.sensorNs, 'script', ['-qec', cmd, '/dev/null']);
    let out = '';
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ready line: ${out}`)), 30_000);
        p.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.replace(ANSI, '').includes('sensor ready')) {
            clearTimeout(timer);
            resolve();
          }
        });
        p.on('exit', (c) => reject(new Error(`exited ${c}: ${out}`)));
      });
    } finally {
      p.kill('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    }
    return out.replace(ANSI, '').split(/\r?\n/).filter(Boolean);
  }

  test('readable lines, the start-up in plain words', async () => {
    const lines = await onTerminal(['--geoip', 'off', '--http', '198.18.0.1:8339']);
    for (const l of lines) assert.match(l, /^\d\d:\d\d:\d\d\.\d{3} (INFO |WARN |DEBUG|ERROR) /, l);
    assert.ok(
      lines.some((l) =>
        /INFO {2}sensor tty starting: data in \/\S+, listening on ports, no packet capture/.test(l),
      ),
    );
    assert.ok(lines.some((l) => /INFO {2}listening on \d+ TCP and \d+ UDP ports tcp=21-23,/.test(l)));
    assert.ok(lines.some((l) => /dashboard token \(generated; .*\): [\w-]{20,}/.test(l)));
    assert.ok(lines.some((l) => l.includes('dashboard on https://198.18.0.1:8339/')));
  });

  test('--log-format json keeps JSON lines on a terminal', async () => {
    const lines = await onTerminal(['--geoip', 'off', '--http', 'off', '--log-format', 'json']);
    for (const l of lines) assert.equal(typeof JSON.parse(l).msg, 'string', l);
  });
});
