import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from './load.js';
import { formatPorts, parseDuration, parseHostPort, parsePorts, parseSize } from './units.js';

test('defaults load, are frozen and carry units', () => {
  const cfg = loadConfig({ env: {} });
  assert.equal(cfg.bufsize, 8192);
  assert.equal(cfg.idleTimeout, 30_000);
  assert.equal(cfg.maxSession, 120_000);
  assert.equal(cfg.maxSessions, 10_000);
  assert.equal(cfg.listen, 'ports');
  assert.ok(Object.isFrozen(cfg));
  assert.throws(() => ((cfg as { bufsize: number }).bufsize = 1));
});

test('precedence: TOML < env < flags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-cfg-'));
  const file = join(dir, 'tw.toml');
  writeFileSync(file, 'bufsize = 100\nidle-timeout = "5s"\ntcp-ports = "1-3,80"\nfin = true\n');
  const cfg = loadConfig({
    configFile: file,
    env: { TIDEWATCH_BUFSIZE: '200' },
    flags: { 'idle-timeout': '7s' },
  });
  assert.equal(cfg.bufsize, 200);
  assert.equal(cfg.idleTimeout, 7000);
  assert.deepEqual(cfg.tcpPorts, [1, 2, 3, 80]);
  assert.equal(cfg.fin, true);
});

test('unknown keys and bad values fail with one line that names the fix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-cfg-'));
  const file = join(dir, 'tw.toml');
  writeFileSync(file, 'bufsiz = 100\n');
  assert.throws(() => loadConfig({ configFile: file }), /unknown key "bufsiz".*did you mean "bufsize"/);
  assert.throws(() => loadConfig({ flags: { 'max-sesions': '3' } }), /did you mean --max-sessions/);
  assert.throws(
    () => loadConfig({ flags: { 'idle-timeout': 'soon' } }),
    /--idle-timeout: "soon" is not a duration/,
  );
  assert.throws(
    () => loadConfig({ flags: { listen: 'all' } }),
    /--listen: "all" is not one of ports, tproxy, off/,
  );
  assert.throws(
    () => loadConfig({ env: { TIDEWATCH_NOPE: '1' } }),
    /unknown environment variable TIDEWATCH_NOPE/,
  );
  assert.throws(
    () => loadConfig({ flags: { 'tls-cert': '/x.pem' } }),
    /--tls-cert and --tls-key go together/,
  );
  writeFileSync(file, 'bufsize = [\n');
  assert.throws(() => loadConfig({ configFile: file }), /not valid TOML/);
});

test('units and port lists', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('2h'), 7_200_000);
  assert.equal(parseDuration(3), 3000);
  assert.equal(parseDuration('3 weeks'), undefined);
  assert.equal(parseSize('8KiB'), 8192);
  assert.equal(parseSize('1GB'), 1e9);
  assert.equal(parseSize('12 parsecs'), undefined);
  assert.deepEqual(parsePorts('1-3, 8080,2'), [1, 2, 3, 8080]);
  assert.match(String(parsePorts('5-1')), /reversed/);
  assert.match(String(parsePorts('70000')), /outside/);
  assert.match(String(parsePorts('ssh')), /not a port/);
  assert.equal(formatPorts([1, 2, 3, 5, 7, 8]), '1-3,5,7-8');
  assert.deepEqual(parseHostPort('[::1]:8339'), { host: '::1', port: 8339 });
  assert.equal(parseHostPort('host:99999'), undefined);
});
