// The readable log: one line per event with its fields, attacker bytes escaped, and JSON kept where it was.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';

import { createLogger, resolveLogFormat } from './log.js';
import { prettyLine } from './log-pretty.js';

function collect(format: 'pretty' | 'json'): { log: ReturnType<typeof createLogger>; lines: () => string[] } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  return { log: createLogger('info', out, format), lines: () => text.split('\n').filter(Boolean) };
}

test('a pino event becomes one line: time, level, component, message, then its fields', () => {
  const { log, lines } = collect('pretty');
  log
    .child({ component: 'listen' })
    .info({ tcp: '21-23,80', ports: 51, tls: true }, 'listening on 51 TCP ports');
  log.warn({ token: 'abc123' }, 'dashboard token (generated): abc123');
  const [first, second, ...rest] = lines();
  assert.deepEqual(rest, []);
  assert.match(
    first!,
    /^\d\d:\d\d:\d\d\.\d{3} INFO {2}\[listen\] listening on 51 TCP ports tcp=21-23,80 ports=51 tls=true$/,
  );
  assert.match(second!, /WARN {2}dashboard token \(generated\): abc123 token=abc123$/);
  assert.ok(!first!.includes('pid='));
});

test('errors show their message and code; strings with spaces are quoted', () => {
  const err = Object.assign(new Error('disk full'), { code: 'ENOSPC' });
  const line = prettyLine(
    JSON.stringify({
      level: 50,
      time: '2026-12-02T13:45:01.123Z',
      pid: 1,
      err: { message: err.message, code: err.code },
      file: '/a b',
      msg: 'write failed',
    }),
    false,
  );
  assert.equal(line, '13:45:01.123 ERROR write failed err="disk full (ENOSPC)" file="/a b"');
});

test('control characters from the wire never reach the terminal raw', () => {
  const hostile = 'x\u001b[2J\u009b31m\r\nFAKE INFO line\u0007';
  const { log, lines } = collect('pretty');
  log.info({ user: hostile }, `login ${hostile}`);
  const out = lines();
  assert.equal(out.length, 1);
  // eslint-disable-next-line no-control-regex -- escape sequences are what is matched
  assert.doesNotMatch(out[0]!, /[\u0000-\u001f\u007f-\u009f]/);
  assert.ok(out[0]!.includes('\\u001b[2J'));
  assert.equal(prettyLine('not json \u001b]0;title\u0007', false), 'not json \\u001b]0;title\\u0007');
});

test('JSON lines stay JSON, and auto means JSON when stdout is not a terminal', () => {
  const { log, lines } = collect('json');
  log.info({ a: 1 }, 'hello');
  assert.equal(JSON.parse(lines()[0]!).msg, 'hello');
  // The test runner's stdout is a pipe.
  assert.equal(process.stdout.isTTY && process.stderr.isTTY ? 'pretty' : 'json', resolveLogFormat('auto'));
  assert.equal(resolveLogFormat('json'), 'json');
  assert.equal(resolveLogFormat('pretty'), 'pretty');
});
