// --json-tcp against a real collector (rsyslog imtcp writing %rawmsg% lines to a file, as stack-notes §6):
// lines arrive in order; a restart of the collector in the middle of a run loses and reorders nothing
// (lines wait in the disk spool); a full spool counts what overflows; the spool survives a sensor restart.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Config } from '../../src/config/schema.js';
import { EventBus } from '../../src/core/bus.js';
import type { SensorContext } from '../../src/core/context.js';
import type { PacketsEvent } from '../../src/core/events.js';
import { createLogger } from '../../src/core/log.js';
import { Stats } from '../../src/core/stats.js';
import { startJsonTcp } from '../../src/export/json-tcp.js';
import { eventually, tempDir } from '../helpers/sensor.js';

const hasRsyslog = existsSync('/usr/sbin/rsyslogd');

/**
 * A free port BELOW the ephemeral range: a reconnecting client aimed at an ephemeral port with nobody
 * listening can be connected to itself by the kernel, which then holds the port rsyslog wants back.
 */
async function freePort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const srv = createServer();
    const ok = await new Promise<boolean>((r) => {
      srv.once('error', () => r(false));
      srv.listen(port, '127.0.0.1', () => r(true));
    });
    if (ok) {
      await new Promise((r) => srv.close(r));
      return port;
    }
  }
}

class Rsyslog {
  proc: ChildProcess | undefined;
  readonly out: string;
  private readonly conf: string;
  constructor(
    private readonly dir: string,
    readonly port: number,
  ) {
    this.out = join(dir, 'collector.jsonl');
    this.conf = join(dir, 'rsyslog.conf');
    writeFileSync(
      this.conf,
      [
        `global(workDirectory="${dir}")`,
        'module(load="imtcp")',
        'template(name="raw" type="string" string="%rawmsg%\\n")',
        `ruleset(name="jsonl") { action(type="omfile" file="${this.out}" template="raw") }`,
        `input(type="imtcp" port="${port}" address="127.0.0.1" ruleset="jsonl")`,
      ].join('\n') + '\n',
    );
  }
  async start(): Promise<void> {
    this.proc = spawn('rsyslogd', ['-n', '-f', this.conf, '-i', join(this.dir, 'rsyslog.pid')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    this.proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // Ask ss, not a probe listener: a probe bind would race rsyslog's own bind for the port.
    const up = await eventually(
      () => execFileSync('ss', ['-ltnH', `sport = :${this.port}`], { encoding: 'utf8' }).includes(':'),
      5000,
      50,
    );
    assert.ok(up, `rsyslogd does not listen on ${this.port}: ${stderr}`);
  }
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
  lines(): string[] {
    return existsSync(this.out) ? readFileSync(this.out, 'utf8').split('\n').filter(Boolean) : [];
  }
}

function ctxFor(dataDir: string, port: number, spoolMax = 64 << 20): SensorContext {
  const cfg = { sensor: 'test', dataDir, jsonTcp: `127.0.0.1:${port}`, spoolMax } as unknown as Config;
  return {
    cfg,
    bus: new EventBus(),
    log: createLogger(process.env.TW_TEST_LOG ?? 'silent'),
    stats: new Stats(),
  };
}

/** Event i carries one SYN line (port 1000+i) and one UDP line (port 53, count i+1): order is checkable. */
function packets(i: number): PacketsEvent {
  return {
    type: 'packets',
    ts: new Date(1_700_000_000_000 + i * 1000).toISOString(),
    sensor: 'test',
    interval_s: 1,
    packets: i + 1,
    malformed: 0,
    tcp: { all: {}, syn: { [1000 + i]: 1 } },
    udp: { '53': i + 1 },
    ip_protocols: {},
    ethertypes: {},
    drops: { kernel: 0, ifdrop: 0, evicted_sources: 0 },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test(
  'lines reach rsyslog in order across a collector restart',
  { skip: !hasRsyslog && 'no rsyslogd' },
  async () => {
    const dir = tempDir();
    const port = await freePort();
    const rs = new Rsyslog(dir, port);
    await rs.start();
    const ctx = ctxFor(join(dir, 'data'), port);
    const c = await startJsonTcp(ctx);
    try {
      let i = 0;
      const emitUpTo = async (n: number) => {
        for (; i < n; i++) {
          ctx.bus.emit(packets(i));
          await sleep(20);
        }
      };
      await emitUpTo(20);
      assert.ok(await eventually(() => rs.lines().length === 40, 10_000), `got ${rs.lines().length} of 40`);
      await rs.stop();
      await emitUpTo(60); // collector down: these wait in the spool
      await rs.start();
      await emitUpTo(80);
      assert.ok(await eventually(() => rs.lines().length >= 160, 20_000), `got ${rs.lines().length} of 160`);
      await c.close();
      const lines = rs.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(lines.length, 160);
      for (let k = 0; k < 80; k++) {
        assert.deepEqual(lines[2 * k], {
          new_all: 'New',
          Value_source: 'TCP',
          Value_type: 'Port',
          Port: 1000 + k,
          Count: 1,
          ts: packets(k).ts,
          sensor: 'test',
        });
        assert.equal(lines[2 * k + 1]!.Count, k + 1, `line order at event ${k}`);
      }
      assert.ok(ctx.stats.get('json_tcp_disconnects_total') >= 1);
      assert.equal(ctx.stats.get('json_tcp_spool_overflow_total'), 0);
    } finally {
      c.destroy();
      await rs.stop();
    }
  },
);

test(
  'a full spool counts overflow and keeps the oldest lines for the next run',
  { skip: !hasRsyslog && 'no rsyslogd' },
  async () => {
    const dir = tempDir();
    const port = await freePort();
    const data = join(dir, 'data');
    // No collector yet: every line goes to a 2000-byte spool.
    const ctx1 = ctxFor(data, port, 2000);
    const c1 = await startJsonTcp(ctx1);
    for (let i = 0; i < 50; i++) ctx1.bus.emit(packets(i));
    await c1.close();
    const overflow = ctx1.stats.get('json_tcp_spool_overflow_total');
    assert.ok(overflow > 0 && overflow < 100, `overflow ${overflow}`);
    const kept = 100 - overflow;
    // The collector comes up; a new run of the exporter delivers what the last one spooled, in order.
    const rs = new Rsyslog(dir, port);
    await rs.start();
    const ctx2 = ctxFor(data, port, 2000);
    const c2 = await startJsonTcp(ctx2);
    try {
      assert.ok(
        await eventually(() => rs.lines().length >= kept, 10_000),
        `got ${rs.lines().length} of ${kept}`,
      );
      await sleep(300);
      const lines = rs.lines().map((l) => JSON.parse(l) as { Port: number; Count: number });
      assert.equal(lines.length, kept);
      assert.equal(lines[0]!.Port, 1000);
      for (let k = 0; k + 1 < kept; k += 2) assert.equal(lines[k]!.Port, 1000 + k / 2);
    } finally {
      await c2.close();
      await rs.stop();
    }
  },
);

test('byte order of ethertypes and UDP ports in the lines', async () => {
  const { linesOf } = await import('../../src/export/json-tcp.js');
  const ev = packets(0);
  ev.udp = { '161': 3 };
  ev.ethertypes = { '0x0806': 2, '0x86dd': 5 };
  ev.ip_protocols = { '58': 5 };
  const l = linesOf(ev).map((s) => JSON.parse(s) as Record<string, unknown>);
  assert.deepEqual(
    l.map((x) => [x.new_all, x.Value_source, x.Value_type, x.Port, x.Count]),
    [
      ['New', 'TCP', 'Port', 1000, 1],
      ['All', 'UDP', 'Port', 161, 3],
      ['All', 'IP', 'Proto', 58, 5],
      ['All', 'ETH', 'DIX', 2054, 2],
      ['All', 'ETH', 'DIX', 34525, 5],
    ],
  );
});
