import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { day, hexBytes, ident, int, ip, list, num, qualified, sql, str } from './sql.js';

/** ClickHouse's reading of a quoted literal (the escapes str() writes), to check round trips offline. */
function unquote(lit: string): string {
  assert.ok(lit.startsWith("'") && lit.endsWith("'"));
  let out = '';
  for (let i = 1; i < lit.length - 1; i++) {
    const c = lit[i]!;
    assert.notEqual(c, "'", 'an unescaped quote inside the literal');
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = lit[++i]!;
    if (n === 'x') {
      out += String.fromCharCode(parseInt(lit.slice(i + 1, i + 3), 16));
      i += 2;
    } else out += ({ n: '\n', r: '\r', t: '\t' } as Record<string, string>)[n] ?? n;
  }
  return out;
}

test('strings: quotes, backslashes, NUL and control bytes are escaped; the text stays one printable line', () => {
  const hostile = "'); DROP TABLE sessions; --\\\0\n\r\t\x7f\x01";
  const lit = str(hostile).text;
  assert.equal(lit, "'\\'); DROP TABLE sessions; --\\\\\\x00\\n\\r\\t\\x7f\\x01'");
  assert.equal(unquote(lit), hostile);
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (s) => {
      const t = str(s).text;
      assert.ok(![...t].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f));
      assert.equal(unquote(t), s);
    }),
  );
});

test('numbers are checked: whole numbers only for int(), finite for num()', () => {
  assert.equal(int(42).text, '42');
  assert.equal(int(-7).text, '-7');
  assert.equal(int(2n ** 63n).text, '9223372036854775808');
  for (const bad of [NaN, Infinity, 1.5, 2 ** 60]) assert.throws(() => int(bad), { code: 'TW_ERR_STORE' });
  assert.equal(num(0.25).text, '0.25000000000000000');
  assert.throws(() => num(NaN), { code: 'TW_ERR_STORE' });
  // The tag checks bare numbers the same way.
  assert.equal(sql`LIMIT ${10} OFFSET ${0}`.text, 'LIMIT 10 OFFSET 0');
  assert.throws(() => sql`LIMIT ${0.5}`, { code: 'TW_ERR_STORE' });
});

test('addresses are parsed before they are quoted; names are letters, digits and _', () => {
  assert.equal(ip('198.18.0.2').text, "'198.18.0.2'");
  assert.equal(ip('2001:2::2').text, "'2001:2::2'");
  for (const bad of ["1.2.3.4'", '1.2.3', "' OR 1=1 --", ''])
    assert.throws(() => ip(bad), { code: 'TW_ERR_STORE' });
  assert.equal(qualified('tidewatch', 'sessions').text, 'tidewatch.sessions');
  for (const bad of ['a.b', 'a b', "x'", '1abc', '', 'a'.repeat(64)])
    assert.throws(() => ident(bad), { code: 'TW_ERR_STORE' });
});

test('bytes go in as hex only, days as Date literals, lists are never empty', () => {
  assert.equal(hexBytes(Buffer.from([0, 0x27, 0xff])).text, "unhex('0027FF')");
  assert.equal(day(20424).text, "'2025-12-02'");
  assert.throws(() => day(-1), { code: 'TW_ERR_STORE' });
  assert.equal(list([int(1), str('a')]).text, "1, 'a'");
  assert.throws(() => list([]), { code: 'TW_ERR_STORE' });
  const where = sql`WHERE src = ${ip('198.18.0.2')} AND dport IN (${list([int(22), int(23)])})`;
  assert.equal(where.text, "WHERE src = '198.18.0.2' AND dport IN (22, 23)");
});
