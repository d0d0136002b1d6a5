// TabSeparated fields and spooled chunks: no control byte survives escaping (so neither the row separator
// nor the spool's record separator can occur in a field), escaping is reversible, and a chunk comes back
// from its spool line as the rows ClickHouse reads. Byte-exact storage is tested on a real server in
// shipper.test.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';

import { BatchIds, Chunker, decodeChunk, encodeChunk } from './chunks.js';
import { float, text, texts, uint } from './tsv.js';

/** ClickHouse's reading of an escaped field (the escapes text() writes). */
function unescape(s: string): string {
  const one: Record<string, string> = { t: '\t', n: '\n', r: '\r', 0: '\0', b: '\b', f: '\f', '\\': '\\' };
  return s.replace(/\\(x[0-9a-f]{2}|.)/g, (_, e: string) =>
    e[0] === 'x' ? String.fromCharCode(parseInt(e.slice(1), 16)) : one[e]!,
  );
}

test('text() leaves no control byte nor lone backslash, and ClickHouse reads back the original', () => {
  assert.equal(text('plain 198.18.0.1'), 'plain 198.18.0.1');
  assert.equal(text("'); DROP TABLE x; --\t\n\\"), "'); DROP TABLE x; --\\t\\n\\\\");
  for (let i = 0; i < 500; i++) {
    const s = randomBytes(1 + (i % 64)).toString('latin1');
    const e = text(s);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(e, /[\x00-\x1f]/);
    assert.equal(unescape(e), s);
  }
});

test('texts() quotes array elements so that quotes, backslashes and tabs stay inside them', () => {
  assert.equal(texts([]), '[]');
  assert.equal(texts(['ssh', "benign:O'Hara\\\t"]), "['ssh','benign:O\\'Hara\\\\\\t']");
});

test('numbers a UInt or Float64 column refuses become 0', () => {
  assert.equal(uint(42.9), '42');
  for (const bad of [-1, NaN, Infinity, 2 ** 60]) assert.equal(uint(bad), '0');
  assert.equal(float(0.5), '0.5');
  assert.equal(float(NaN), '0');
});

test('a chunk survives its spool line: header checked, rows as TabSeparated lines with their batch', () => {
  const chunker = new Chunker(new BatchIds(), 's1');
  chunker.add('heartbeats', '2026-12-02', `s1\t2026-12-02\t1`);
  chunker.add('heartbeats', '2026-12-02', `${text('s\n2')}\t2026-12-02\t2`);
  chunker.add('heartbeats', '2026-12-01', `s1\t2026-12-01\t3`);
  const chunks = chunker.take();
  assert.deepEqual(
    chunks.map((c) => [c.day, c.rows]),
    [
      ['2026-12-02', 2],
      ['2026-12-01', 1],
    ],
  );
  const line = encodeChunk(chunks[0]!);
  assert.ok(!line.includes('\n'));
  const back = decodeChunk(Buffer.from(line))!;
  const b = chunks[0]!.batch;
  assert.equal(back.data.toString(), `s1\t2026-12-02\t1\t${b}\ns\\n2\t2026-12-02\t2\t${b}\n`);
  assert.deepEqual(back.columns, ['sensor', 'day', 'ts', 'batch']);
  // Damaged lines and forged headers (a column name that is not an identifier) are refused.
  assert.equal(decodeChunk(Buffer.from('{"table":"sessions"')), undefined);
  const forged = line.replace('"ts"', '"ts) SELECT 1 --"');
  assert.equal(decodeChunk(Buffer.from(forged)), undefined);
  assert.equal(decodeChunk(Buffer.from(line.replace('heartbeats', 'system.users'))), undefined);
});
