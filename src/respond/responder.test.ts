// The responder with its real personas and sessions, the socket side collected in memory: hostile input
// to every persona never throws out of it, what is sent stays under the byte cap, and each cap is counted.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { EventBus } from '../core/bus.js';
import type { SensorContext } from '../core/context.js';
import { createLogger } from '../core/log.js';
import { Stats } from '../core/stats.js';
import { loadConfig } from '../config/load.js';
import { createResponder, type Responder } from './index.js';
import { PERSONA_MODULES } from './personas.js';
import type { PersonaName } from './types.js';

const dataDir = mkdtempSync(join(tmpdir(), 'tw-respond-unit-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

async function rig(
  flags: Record<string, string> = {},
): Promise<{ r: Responder; stats: Stats; names: PersonaName[] }> {
  const stats = new Stats();
  const cfg = loadConfig({ flags: { sensor: 'unit', 'data-dir': dataDir, ...flags } });
  const ctx: SensorContext = { cfg, bus: new EventBus(), log: createLogger('fatal'), stats };
  const modules = await PERSONA_MODULES(ctx);
  return { r: createResponder(ctx, modules), stats, names: [...modules.keys()] };
}

/** A session of `name` fed `chunks`; returns what was sent and whether the persona ended it. */
function feed(r: Responder, name: PersonaName, chunks: Buffer[]) {
  const sent: Buffer[] = [];
  let ended = false;
  const s = r.start(
    name,
    { src: '198.18.0.2', dst: '198.18.0.1', dport: 1 },
    {
      write: (b) => void sent.push(b),
      end: () => void (ended = true),
    },
  );
  assert.ok(s, `no ${name} persona`);
  s.begin();
  for (const c of chunks) s.onData(c);
  const fields = s.fields();
  s.close();
  return { sent: Buffer.concat(sent), ended, fields };
}

test('every persona takes hostile bytes without throwing and stays under the sent-bytes cap', async () => {
  const { r, stats, names } = await rig({ 'respond-max-sent': '4KiB' });
  // SSH runs over ssh2 (its own parser); its record is covered by the e2e test with a real client.
  const fuzzed = names.filter((n) => n !== 'ssh');
  fc.assert(
    fc.property(
      fc.constantFrom(...fuzzed),
      fc.array(fc.uint8Array({ maxLength: 2000 }), { maxLength: 30 }),
      (name, chunks) => {
        const out = feed(
          r,
          name,
          chunks.map((c) => Buffer.from(c)),
        );
        assert.ok(out.sent.length <= 4096);
      },
    ),
    { numRuns: 300 },
  );
  assert.equal(stats.get('respond_errors_total'), 0);
});

test('caps: commands, authentication attempts, bytes sent and open sessions are each hit and counted', async () => {
  const { r, stats } = await rig({
    'respond-max-commands': '3',
    'respond-max-auth': '2',
    'respond-max-sent': '1KiB',
    'respond-max-sessions': '1',
  });
  const login = Buffer.from('root\r\npw\r\n');
  const cmds = feed(r, 'telnet', [login, Buffer.from('a\r\nb\r\nc\r\nd\r\ne\r\n')]);
  assert.deepEqual(cmds.fields.commands, ['a', 'b', 'c']);
  assert.equal(cmds.ended, true);
  assert.equal(stats.get('respond_commands_cap_total'), 1);

  const http = feed(r, 'http', [Buffer.from('GET /x HTTP/1.1\r\nHost: h\r\n\r\n'.repeat(3))]);
  assert.equal(http.fields.http?.length, 3);
  const big = feed(r, 'telnet', [login, Buffer.from(`cat ${'/proc/cpuinfo '.repeat(10)}\r\n`)]);
  assert.ok(big.sent.length <= 1024 && big.ended);
  assert.equal(stats.get('respond_sent_cap_total'), 1);

  const io = { write() {}, end() {} };
  const t = { src: '', dst: '', dport: 1 };
  const first = r.start('http', t, io);
  assert.equal(r.start('http', t, io), undefined);
  assert.equal(stats.get('respond_sessions_shed_total'), 1);
  first?.close();
  first?.close();
  assert.ok(r.start('http', t, io));
});
