// The native TCP session engine on real loopback sockets: what only it does (the peer of a connection
// reset before accept, EMFILE shedding with its reserve descriptor) and its record decoder under garbage.
// Session behaviour shared with the JS path (caps, timeouts, FIN/RST, TLS hand-off) is in sessions.test.ts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { TidewatchError } from '../core/errors.js';
import {
  addon,
  boundPort,
  decodeRecords,
  deliverBatch,
  MAX_BATCH,
  portBitmap,
  startTcpEngine,
  tcpListen,
  type EngineRecord,
} from './tcp-engine.js';

const OPTS = {
  bufsize: 64,
  idleMs: 5000,
  maxSessionMs: 10_000,
  capacity: 100,
  fin: false,
  finGraceMs: 2000,
  handoffTls: false,
  keepForTarpit: false,
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(fn: () => T | undefined, ms = 5000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await sleep(10);
  }
}

/** Connects, sends `text` with a FIN, and resolves once the server has closed. */
const sendAndClose = (port: number, host: string, text: string) =>
  new Promise<void>((res) => {
    const s = connect(port, host, () => s.end(text));
    s.on('error', () => {});
    s.on('close', () => res());
  });

test('a connection reset while still in the accept queue is recorded with its peer', async () => {
  // The socket listens before the engine takes it: the client connects, then resets, while nothing accepts.
  const fd = tcpListen('127.0.0.1', 0, 16);
  const port = boundPort(fd);
  const c: Socket = await new Promise((res) => {
    const s = connect(port, '127.0.0.1', () => res(s));
  });
  const sport = c.localPort;
  c.resetAndDestroy();
  await sleep(50);
  const records: EngineRecord[] = [];
  const engine = startTcpEngine(OPTS, (r) => records.push({ ...r, chunks: [] }));
  try {
    engine.listen(fd);
    const end = await until(() => records.find((r) => r.kind === 'end'));
    assert.equal(records[0]!.kind, 'accept');
    assert.deepEqual(
      [end.src, end.sport, end.dst, end.dport, end.close, end.bytes],
      ['127.0.0.1', sport, '127.0.0.1', port, 'rst', 0],
    );
  } finally {
    engine.stop();
  }
});

test('a dual-stack socket reports IPv4 peers as plain IPv4 and IPv6 peers as IPv6', async () => {
  const fd = tcpListen('::', 0, 16);
  const port = boundPort(fd);
  const records: EngineRecord[] = [];
  const engine = startTcpEngine(OPTS, (r) => records.push({ ...r, chunks: r.chunks.map((x) => ({ ...x })) }));
  try {
    engine.listen(fd);
    for (const host of ['127.0.0.1', '::1']) await sendAndClose(port, host, `hi ${host}`);
    const ends = await until(() => {
      const e = records.filter((r) => r.kind === 'end');
      return e.length === 2 ? e : undefined;
    });
    assert.deepEqual(
      ends.map((e) => [
        e.family,
        e.src,
        e.dst,
        e.close,
        Buffer.concat(e.chunks.map((x) => x.data)).toString(),
      ]),
      [
        [4, '127.0.0.1', '127.0.0.1', 'fin', 'hi 127.0.0.1'],
        [6, '::1', '::1', 'fin', 'hi ::1'],
      ],
    );
  } finally {
    engine.stop();
  }
});

test('stop() ends open sessions with close "shutdown" before it returns, and closes them with RST', async () => {
  const fd = tcpListen('127.0.0.1', 0, 16);
  const port = boundPort(fd);
  const records: EngineRecord[] = [];
  const engine = startTcpEngine(OPTS, (r) => records.push(r));
  engine.listen(fd);
  const s = connect(port, '127.0.0.1', () => s.write('held'));
  const how = new Promise((res) => {
    s.on('error', (e: NodeJS.ErrnoException) => res(e.code));
    s.on('close', () => res('close'));
  });
  await until(() => (engine.counters().open === 1 ? true : undefined));
  await sleep(50);
  engine.stop();
  const end = records.find((r) => r.kind === 'end');
  assert.equal(end?.close, 'shutdown');
  assert.equal(await how, 'ECONNRESET');
  engine.stop(); // idempotent
});

test('out of descriptors: pending connections are shed with the reserve descriptor, no spinning', async () => {
  // A child process runs the engine; its open-file limit is lowered under it with prlimit.
  const script = `
    import { startTcpEngine, tcpListen, boundPort } from ${JSON.stringify(new URL('./tcp-engine.js', import.meta.url).href)};
    const fd = tcpListen('127.0.0.1', 0, 512);
    const engine = startTcpEngine(${JSON.stringify({ ...OPTS, capacity: 10_000 })}, (r) => {
      if (r.kind !== 'accept') process.stdout.write(JSON.stringify({ kind: r.kind, sport: r.sport, close: r.close }) + '\\n');
    });
    engine.listen(fd);
    console.log(JSON.stringify({ port: boundPort(fd) }));
    process.stdin.on('data', () => console.log(JSON.stringify({ counters: engine.counters() })));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const p of parts) lines.push(JSON.parse(p) as Record<string, unknown>);
  });
  const clients: Socket[] = [];
  try {
    const { port } = (await until(() => lines.find((l) => 'port' in l))) as { port: number };
    const used = readdirSync(`/proc/${child.pid}/fd`).length;
    const lim = spawn('prlimit', ['--pid', String(child.pid), `--nofile=${used + 5}:${used + 5}`]);
    assert.equal(await new Promise((r) => lim.on('exit', r)), 0);
    const N = 40;
    let closed = 0;
    for (let i = 0; i < N; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => {});
      s.on('close', () => closed++);
      clients.push(s);
    }
    // A few fit under the limit and stay open (idle); every other one is reset at once.
    await until(() => (closed >= N - 10 ? true : undefined), 10_000);
    child.stdin.write('\n');
    const { counters } = (await until(() => lines.find((l) => 'counters' in l))) as {
      counters: { emfile: number; shed: number; open: number; pausedListeners: number };
    };
    assert.ok(counters.emfile > 0, JSON.stringify(counters));
    assert.ok(counters.shed >= N - 10, JSON.stringify(counters));
    assert.ok(counters.open < 10, JSON.stringify(counters));
    assert.equal(counters.shed + counters.open, N, JSON.stringify(counters));
    assert.equal(counters.pausedListeners, 0, 'the reserve descriptor sheds without pausing the port');
    // Shed connections are reported with their peer, so detectors still see them.
    const shed = lines.filter((l) => l.kind === 'shed');
    assert.ok(shed.length === counters.shed && shed.every((l) => typeof l.sport === 'number' && l.sport > 0));
    // Not spinning: the child's CPU over a quiet second stays low.
    const stat = () => {
      const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
      return (Number(x[11]) + Number(x[12])) / 100;
    };
    const before = stat();
    await sleep(1000);
    assert.ok(stat() - before < 0.3, 'the engine spins while out of descriptors');
  } finally {
    for (const c of clients) c.destroy();
    child.kill('SIGKILL');
  }
});

test('an error thrown while handling a batch goes to onError, and the engine keeps going', async () => {
  const fd = tcpListen('127.0.0.1', 0, 16);
  const port = boundPort(fd);
  const errors: unknown[] = [];
  const ends: EngineRecord[] = [];
  const engine = startTcpEngine(
    OPTS,
    (r) => {
      if (r.kind !== 'end') return;
      ends.push(r);
      if (ends.length === 1) throw new Error('handler bug');
    },
    (err) => errors.push(err),
  );
  try {
    engine.listen(fd);
    for (let i = 0; i < 2; i++) await sendAndClose(port, '127.0.0.1', 'x');
    await until(() => (ends.length === 2 ? true : undefined));
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /handler bug/);
  } finally {
    engine.stop();
  }
});

test('the record decoder rejects corrupt batches with an error, never a crash or a hang', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (raw) => {
      try {
        decodeRecords(Buffer.from(raw), () => {});
      } catch (err) {
        assert.ok(err instanceof TidewatchError, String(err));
      }
    }),
  );
});

test('arguments are validated before the addon sees them', () => {
  assert.throws(() => tcpListen('not-an-address', 80, 16), TidewatchError);
  assert.throws(() => tcpListen('127.0.0.1', 70000, 16), TidewatchError);
  assert.throws(() => startTcpEngine({ ...OPTS, bufsize: 0 }, () => {}), TidewatchError);
  assert.throws(() => startTcpEngine({ ...OPTS, idleMs: Number.NaN }, () => {}), TidewatchError);
  const e = startTcpEngine(OPTS, () => {});
  try {
    assert.throws(() => e.listen(-1), TidewatchError);
  } finally {
    e.stop();
  }
  // A port in use is an error with node:net's code, so ports mode can say why it skipped it.
  const fd = tcpListen('127.0.0.1', 0, 16);
  try {
    assert.throws(() => tcpListen('127.0.0.1', boundPort(fd), 16), { code: 'EADDRINUSE' });
  } finally {
    const e2 = startTcpEngine(OPTS, () => {});
    e2.listen(fd); // the engine owns and closes it
    e2.stop();
  }
});

test('a matching first read or a banner port hands the connection to JS; other bytes stay in C', async () => {
  const fd = tcpListen('127.0.0.1', 0, 16);
  const port = boundPort(fd);
  const fd2 = tcpListen('127.0.0.1', 0, 16);
  const banner = boundPort(fd2);
  const records: EngineRecord[] = [];
  const engine = startTcpEngine(
    { ...OPTS, handoffPrefixes: [Buffer.from('GET '), Buffer.from('SSH-')], bannerPorts: [banner] },
    (r) => records.push({ ...r, chunks: r.chunks.map((x) => ({ ...x, data: Buffer.from(x.data) })) }),
  );
  const fds: number[] = [];
  try {
    engine.listen(fd);
    engine.listen(fd2);
    await sendAndClose(port, '127.0.0.1', 'hello');
    await until(() => records.find((r) => r.kind === 'end'));
    // "GE" is the start of "GET ": handed over too, JS decides with more bytes.
    for (const text of ['GET / HTTP/1.0\r\n\r\n', 'GE', 'SSH-2.0-x\r\n']) {
      const s = connect(port, '127.0.0.1', () => s.write(text));
      s.on('error', () => {});
      const h = await until(() => records.find((r) => r.kind === 'handoff' && !fds.includes(r.fd)));
      fds.push(h.fd);
      assert.equal(h.chunks.map((c) => c.data.toString()).join(''), text);
      s.destroy();
    }
    const s = connect(banner, '127.0.0.1');
    s.on('error', () => {});
    const h = await until(() => records.find((r) => r.kind === 'handoff' && r.dport === banner));
    assert.equal(h.chunks.length, 0);
    fds.push(h.fd);
    s.destroy();
    assert.equal(records.filter((r) => r.kind === 'end').length, 1);
  } finally {
    engine.stop();
    for (const f of fds) spawnCloseFd(f);
  }
});

/** Closes a descriptor JS was handed (a net.Socket over it, destroyed at once). */
function spawnCloseFd(fd: number): void {
  const s = new Socket({ fd });
  s.on('error', () => {});
  s.destroy();
}

/** A native engine whose batches pass through `seen` before deliverBatch (which the wrapper uses too). */
function rawEngine(opts: typeof OPTS, seen: (batch: Buffer) => void, onRecord: (r: EngineRecord) => void) {
  const errors: unknown[] = [];
  const { bufsize, idleMs, maxSessionMs, capacity, fin, finGraceMs, handoffTls, keepForTarpit } = opts;
  const native = new (addon().TcpEngine)(
    ...([bufsize, idleMs, maxSessionMs, capacity, fin, finGraceMs, handoffTls, keepForTarpit] as const),
    (batch) => {
      seen(batch);
      return deliverBatch(batch, onRecord, (err) => errors.push(err));
    },
  );
  return { native, errors };
}

test('a sweep that times out many sessions hands them over in batches of at most MAX_BATCH', async () => {
  assert.equal(addon().MAX_BATCH, MAX_BATCH);
  const fd = tcpListen('127.0.0.1', 0, 128);
  const port = boundPort(fd);
  const sizes: number[] = [];
  const ends: EngineRecord[] = [];
  const opts = { ...OPTS, bufsize: 65536, idleMs: 2000, capacity: 200 };
  const { native } = rawEngine(
    opts,
    (b) => sizes.push(b.length),
    (r) => void (r.kind === 'end' && ends.push(r)),
  );
  // 64 sessions holding 40 KB each time out together: 2.6 MB that one sweep used to hand over at once.
  const clients: Socket[] = [];
  try {
    native.listen(fd);
    for (let i = 0; i < 64; i++) {
      const s = connect(port, '127.0.0.1', () => s.write(Buffer.alloc(40_000, 0x41)));
      s.on('error', () => {});
      clients.push(s);
    }
    await until(() => (ends.length === 64 ? true : undefined), 10_000);
    assert.ok(ends.every((e) => e.close === 'timeout' && e.bytes === 40_000));
    const oneRecord = 80 + 16 + 40_000 + 8;
    assert.ok(Math.max(...sizes) <= MAX_BATCH + oneRecord, `largest batch ${Math.max(...sizes)} bytes`);
    assert.ok(sizes.filter((n) => n > MAX_BATCH / 2).length >= 2, `batches ${sizes.join(',')}`);
  } finally {
    native.stop();
    for (const s of clients) s.destroy();
  }
});

test('descriptors handed over in a batch that fails to decode are closed by the engine, not leaked', async () => {
  const fd = tcpListen('127.0.0.1', 0, 64);
  const port = boundPort(fd);
  const records: EngineRecord[] = [];
  const before = readdirSync('/proc/self/fd').length;
  // Every batch is corrupted at its first record: JS takes nothing of it.
  const { native, errors } = rawEngine(
    OPTS,
    (b) => void (b[0] = 0xee),
    (r) => records.push(r),
  );
  native.setBannerPorts(portBitmap([port]));
  const closed: Promise<unknown>[] = [];
  try {
    native.listen(fd);
    for (let i = 0; i < 8; i++) {
      const s = connect(port, '127.0.0.1');
      closed.push(
        new Promise((res) => {
          s.on('error', (e: NodeJS.ErrnoException) => res(e.code));
          s.on('close', () => res('close'));
        }),
      );
    }
    // Each client sees its connection end (RST): nobody holds its descriptor any more.
    const how = await Promise.race([Promise.all(closed), sleep(5000).then(() => 'timed out')]);
    assert.deepEqual(how, Array(8).fill('ECONNRESET'));
    assert.equal(records.length, 0);
    assert.ok(errors.length >= 1 && errors.every((e) => e instanceof TidewatchError));
    assert.equal(native.counters().undelivered, 8);
  } finally {
    native.stop();
  }
  // The listener closed with the engine, and no handed-over descriptor is left open in this process.
  assert.ok(readdirSync('/proc/self/fd').length <= before, 'descriptors leaked');
});
