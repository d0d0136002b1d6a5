// The listener under resource limits: the port set fitted to a low open-file limit, ports taken by other
// services skipped, and EMFILE at accept handled by pausing and shedding without exiting or spinning.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CLI, eventually, readJsonLines, tempDir } from '../helpers/sensor.js';
import { isRoot, type Testbed, withTestbed } from '../helpers/testbed.js';

const skip = isRoot() ? false : 'needs root (network namespaces)';
const BASE = ['--http', 'off', '--store', 'off', '--geoip', 'off', '--tls', 'off', '--idle-timeout', '2s'];

interface Proc {
  proc: ChildProcess;
  logs: string[];
  dataDir: string;
  wait(re: RegExp, ms?: number): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Runs the CLI in the sensor namespace under prlimit (the shared helper runs node directly). */
async function runLimited(bed: Testbed, nofile: number | undefined, args: string[]): Promise<Proc> {
  const dataDir = tempDir();
  const node = [process.execPath, CLI, 'run', '--data-dir', dataDir, '--sensor', 'test', ...BASE, ...args];
  const proc = nofile
    ? bed.spawn(bed.sensorNs, 'prlimit', [`--nofile=${nofile}:${nofile}`, '--', ...node])
    : bed.spawn(bed.sensorNs, node[0]!, node.slice(1));
  const logs: string[] = [];
  let buf = '';
  proc.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    logs.push(...parts);
  });
  const exited = new Promise((r) => proc.on('exit', r));
  const wait = async (re: RegExp, ms = 20_000) => {
    const line = await eventually(() => logs.find((l) => re.test(l)), ms, 50);
    assert.ok(line, `no log line ${re}; log:\n${logs.slice(-10).join('\n')}`);
    return JSON.parse(line) as Record<string, unknown>;
  };
  await wait(/"msg":"sensor ready"/);
  return {
    proc,
    logs,
    dataDir,
    wait,
    async stop() {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** CPU seconds (user + system) a process used so far. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

describe('listener limits', { skip }, () => {
  test('fits the port set to a low open-file limit and says what it skipped', async () => {
    await withTestbed(async (bed) => {
      const s = await runLimited(bed, 300, ['--tcp-ports', '20000-20999', '--udp-ports', '']);
      const listening = await s.wait(/"msg":"listening on \d+ TCP/);
      const warn = await s.wait(/open-file limit too low: bound/);
      const bound = Number(warn.bound);
      assert.ok(bound > 50 && bound < 300, `bound ${bound}`);
      assert.equal(listening.tcp, `20000-${20000 + bound - 1}`);
      assert.equal(warn.skipped, `${20000 + bound}-20999`);
      assert.match(String(warn.msg), /raise the hard limit/);
      // The sensor works on what it bound.
      await bed.exec(bed.scannerNs, 'nc', ['-N', '-w', '3', bed.sensorIp, '20000'], { input: 'fits\n' });
      await eventually(() =>
        readJsonLines<{ flow: { dport: number } }>(join(s.dataDir, 'sessions')).some(
          (r) => r.flow.dport === 20000,
        ),
      );
      await s.stop();
    });
  });

  test('skips and reports ports in use by another service', async () => {
    await withTestbed(async (bed) => {
      const other = bed.spawn(bed.sensorNs, 'nc', ['-l', '-k', '-p', '20005']);
      await eventually(async () => {
        const r = await bed.exec(bed.sensorNs, 'ss', ['-Hltn', 'sport = :20005']);
        return r.stdout.includes('20005');
      });
      const s = await runLimited(bed, undefined, ['--tcp-ports', '20000-20009', '--udp-ports', '20000']);
      const warn = await s.wait(/tcp ports in use by other services, skipped/);
      assert.equal(warn.ports, '20005');
      const listening = await s.wait(/"msg":"listening on 9 TCP and 1 UDP ports"/);
      assert.equal(listening.tcp, '20000-20004,20006-20009');
      await s.stop();
      other.kill('SIGKILL');
    });
  });

  test('out of descriptors at run time: sheds and counts; never exits nor spins; accepts again later', async () => {
    await withTestbed(async (bed) => {
      const s = await runLimited(bed, undefined, ['--tcp-ports', '20000', '--udp-ports', '']);
      const pid = s.proc.pid!;
      // Lower the limit under the running sensor: the listener notices at its next sweep and caps open
      // sessions below it, so new connections are shed (RST, counted) instead of meeting EMFILE.
      const used = readdirSync(`/proc/${pid}/fd`).length;
      const r = await bed.exec(bed.sensorNs, 'prlimit', [
        '--pid',
        String(pid),
        `--nofile=${used + 20}:${used + 20}`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      await s.wait(/open-file limit changed: open sessions capped anew/, 5000);
      const cpu0 = cpuSeconds(pid);
      const t0 = Date.now();
      const out = await bed.exec(
        bed.scannerNs,
        process.execPath,
        [
          '-e',
          `const net=require('net');let done=0;const N=300;for(let i=0;i<N;i++){` +
            `const s=net.connect(20000,'${bed.sensorIp}',()=>s.write('e'+i+'\\n'));s.on('error',()=>{});` +
            `s.on('close',()=>{if(++done===N){console.log(done);process.exit(0)}})}setTimeout(()=>{console.log(done);process.exit(0)},20000)`,
        ],
        { timeoutMs: 30_000 },
      );
      assert.equal(out.stdout.trim(), '300');
      await s.wait(/at --max-sessions: new connections closed at once/);
      const busy = (cpuSeconds(pid) - cpu0) / ((Date.now() - t0) / 1000);
      assert.ok(busy < 0.5, `sensor CPU ${busy.toFixed(2)} of a core while out of descriptors`);
      assert.equal(s.proc.exitCode, null, 'sensor exited');
      // Once the sessions have timed out, connections are accepted and recorded again.
      await new Promise((res) => setTimeout(res, 2500));
      const again = await eventually(
        async () => {
          await bed.exec(bed.scannerNs, 'nc', ['-N', '-w', '2', bed.sensorIp, '20000'], { input: 'after\n' });
          return readJsonLines<{ payloads: { data: string }[] }>(join(s.dataDir, 'sessions')).some(
            (x) => x.payloads[0]?.data === Buffer.from('after\n').toString('base64'),
          );
        },
        15_000,
        500,
      );
      assert.ok(again, 'not accepting after EMFILE');
      await s.stop();
      const closed = JSON.parse(s.logs.find((l) => l.includes('"msg":"listener closed"'))!) as Record<
        string,
        number
      >;
      assert.ok(closed.shed! > 0, `shed ${closed.shed}`);
      assert.ok(closed.sessions! + closed.shed! >= 300, JSON.stringify(closed));
    });
  });
});
