import assert from 'node:assert/strict';
import { httpPort } from '../config/units.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { ConfigError } from '../core/errors.js';
import {
  buildPlan,
  forwardingFamilies,
  parseCidr,
  portElements,
  renderRuleset,
  type PlanInput,
} from './tproxy.js';

const base: PlanInput = {
  tproxyPort: 39999,
  tproxyIface: [],
  tproxyDst: [],
  sshPort: 22,
  excludePorts: [],
  http: '127.0.0.1:8339',
};

test('CIDRs are validated and canonicalised to their network', () => {
  assert.deepEqual(parseCidr('198.18.1.77/24'), { family: 4, cidr: '198.18.1.0/24' });
  assert.deepEqual(parseCidr('198.18.1.5'), { family: 4, cidr: '198.18.1.5/32' });
  assert.deepEqual(parseCidr('2001:2:1::7/64'), { family: 6, cidr: '2001:2:1:0:0:0:0:0/64' });
  assert.deepEqual(parseCidr('::ffff:198.18.1.1/120'), { family: 6, cidr: '0:0:0:0:0:ffff:c612:100/120' });
  assert.deepEqual(parseCidr('0.0.0.0/0'), { family: 4, cidr: '0.0.0.0/0' });
  for (const bad of [
    '198.18.1.0/33',
    '1.2.3/8',
    'fe80::1%eth0/64',
    '1.2.3.4/24/1',
    '1.2.3.4/x',
    '"; flush ruleset',
    '',
  ])
    assert.throws(() => parseCidr(bad), ConfigError, bad);
});

test('no attacker- or operator-supplied text outside the strict alphabets reaches the ruleset', () => {
  fc.assert(
    fc.property(fc.string(), (s) => {
      try {
        const { cidr } = parseCidr(s);
        assert.match(cidr, /^[0-9a-f.:]+\/\d{1,3}$/);
      } catch (err) {
        assert.ok(err instanceof ConfigError);
      }
      try {
        const r = renderRuleset(buildPlan({ ...base, tproxyIface: [s] }, { tcp: [], udp: [] }, [4]));
        assert.ok(!/["{};\n]/.test(s), 'only plain interface names are accepted');
        assert.ok(r.includes(`"${s}"`));
      } catch (err) {
        assert.ok(err instanceof ConfigError);
      }
    }),
  );
});

test('port sets are merged into ranges', () => {
  assert.deepEqual(portElements([22, 80, 81, 82, 8339, 81, 443]), ['22', '80-82', '443', '8339']);
  assert.deepEqual(portElements([]), []);
});

test('the --http port is read from ADDR:PORT', () => {
  assert.equal(httpPort('127.0.0.1:8339'), 8339);
  assert.equal(httpPort('[::1]:9000'), 9000);
  assert.equal(httpPort('off'), undefined);
});

test('excluded ports: ssh, --exclude-ports, --http (TCP), local listeners per protocol', () => {
  const plan = buildPlan(
    { ...base, sshPort: 2222, excludePorts: [53, 9000] },
    { tcp: [25, 8080], udp: [123] },
    [4, 6],
  );
  assert.deepEqual(plan.tcpExcluded, [25, 53, 2222, 8080, 8339, 9000]);
  assert.deepEqual(plan.udpExcluded, [53, 123, 2222, 9000]);
  const text = renderRuleset(plan);
  assert.match(text, /set tcp_excluded \{[^}]*elements = \{ 25, 53, 2222, 8080, 8339, 9000 \}/);
  assert.match(text, /set udp_excluded \{[^}]*elements = \{ 53, 123, 2222, 9000 \}/);
  // Exclusions come before the TPROXY rules; established flows and our own flows before everything.
  const at = (s: string) => text.indexOf(s);
  assert.ok(at('socket transparent 1') < at('socket transparent 0'));
  assert.ok(at('socket transparent 0') < at('tcp dport @tcp_excluded'));
  assert.ok(at('udp dport @udp_excluded') < at('tproxy ip to :39999'));
  assert.match(text, /iifname "lo" return/);
  assert.match(text, /meta nfproto ipv6 meta l4proto udp tproxy ip6 to :39999/);
});

test('--tproxy-iface and --tproxy-dst narrow the rules; a family without CIDRs gets none', () => {
  const plan = buildPlan(
    { ...base, tproxyIface: ['eth0', 'ens3.100'], tproxyDst: ['198.18.1.0/24', '198.18.2.9'] },
    { tcp: [], udp: [] },
    [4, 6],
  );
  const text = renderRuleset(plan);
  assert.match(text, /iifname != \{ "eth0", "ens3.100" \} return/);
  assert.match(
    text,
    /set dst4 \{\n\t\ttype ipv4_addr; flags interval;\n\t\telements = \{ 198.18.1.0\/24, 198.18.2.9\/32 \}/,
  );
  assert.match(text, /ip daddr @dst4 tproxy ip to :39999/);
  assert.doesNotMatch(text, /tproxy ip6/);
});

test('bad values stop with a ConfigError naming the flag', () => {
  assert.throws(() => buildPlan({ ...base, tproxyPort: 0 }, { tcp: [], udp: [] }, [4]), /--tproxy-port/);
  assert.throws(
    () => buildPlan({ ...base, tproxyIface: ['eth0"'] }, { tcp: [], udp: [] }, [4]),
    /--tproxy-iface/,
  );
  assert.throws(
    () => buildPlan({ ...base, tproxyDst: ['10.0.0.0/8; x'] }, { tcp: [], udp: [] }, [4]),
    /--tproxy-dst/,
  );
});

test('a forwarding host: "any destination" narrows to its own addresses, unless --tproxy-dst is given', () => {
  const fwd = renderRuleset(buildPlan(base, { tcp: [], udp: [] }, [4, 6], [4]));
  assert.match(fwd, /meta nfproto ipv4 meta l4proto tcp fib daddr type local tproxy ip to :39999/);
  assert.match(fwd, /meta nfproto ipv6 meta l4proto tcp tproxy ip6 to :39999/);
  const dst = buildPlan({ ...base, tproxyDst: ['198.18.1.0/24'] }, { tcp: [], udp: [] }, [4, 6], [4, 6]);
  assert.deepEqual(dst.localOnly, []);
  assert.doesNotMatch(renderRuleset(dst), /fib daddr/);
});

test('forwarding is read from /proc/sys/net', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-fwd-'));
  mkdirSync(join(dir, 'ipv4'));
  mkdirSync(join(dir, 'ipv6/conf/all'), { recursive: true });
  writeFileSync(join(dir, 'ipv4/ip_forward'), '1\n');
  writeFileSync(join(dir, 'ipv6/conf/all/forwarding'), '0\n');
  assert.deepEqual(forwardingFamilies(dir), [4]);
  assert.deepEqual(forwardingFamilies(join(dir, 'missing')), []);
  rmSync(dir, { recursive: true });
});
