#!/usr/bin/env node
// Makes a fresh clone runnable with `npm start` / `npm test` alone (Node built-ins only: runs before npm ci).
//   preflight.mjs            runtime: Debian packages, npm dependencies, native addon, TypeScript build
//   preflight.mjs --test     the same plus the tools the test suite drives (nmap, masscan, chromium, ...)
//   preflight.mjs --system   Debian packages to build the native addon only (npm's install hook)
// As root it installs what is missing with apt-get; otherwise it stops with one line naming the command.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.argv.includes('--test') ? 'test' : process.argv.includes('--system') ? 'system' : 'run';

// Debian package → a file that proves it is installed (cheaper and quieter than dpkg-query).
const BUILD = {
  'libpcap-dev': '/usr/include/pcap/pcap.h',
  python3: '/usr/bin/python3',
  'g++': '/usr/bin/g++',
  make: '/usr/bin/make',
};
const RUNTIME = { nftables: '/usr/sbin/nft', iproute2: '/usr/sbin/ip', openssl: '/usr/bin/openssl' };
const TEST = {
  nmap: '/usr/bin/nmap',
  masscan: '/usr/bin/masscan',
  zmap: '/usr/sbin/zmap',
  hping3: '/usr/sbin/hping3',
  tcpreplay: '/usr/bin/tcpreplay',
  tcpdump: '/usr/bin/tcpdump',
  'netcat-openbsd': '/usr/bin/nc.openbsd',
  socat: '/usr/bin/socat',
  curl: '/usr/bin/curl',
  prometheus: '/usr/bin/prometheus',
  rsyslog: '/usr/sbin/rsyslogd',
  chromium: '/usr/bin/chromium',
  procps: '/usr/bin/ps',
  iptables: '/usr/sbin/iptables',
  'iputils-ping': '/usr/bin/ping',
  'clickhouse-server': '/usr/sbin/clickhouse-server',
  'clickhouse-client': '/usr/bin/clickhouse-client',
  'openssh-client': '/usr/bin/ssh',
  sshpass: '/usr/bin/sshpass',
  'redis-tools': '/usr/bin/redis-cli',
  'mariadb-client': '/usr/bin/mariadb',
  dnsutils: '/usr/bin/dig',
  systemd: '/usr/bin/systemd-analyze',
  'util-linux': '/usr/bin/setpriv',
  bsdutils: '/usr/bin/script',
};

const wanted = { ...BUILD, ...(mode === 'system' ? {} : RUNTIME), ...(mode === 'test' ? TEST : {}) };
const missing = Object.entries(wanted)
  .filter(([, file]) => !existsSync(file))
  .map(([pkg]) => pkg);

function fail(line) {
  process.stderr.write(`tidewatch: ${line}\n`);
  process.exit(1);
}

if (missing.length) {
  const cmd = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) fail(`missing Debian packages; run as root: apt-get update && ${cmd}`);
  if (!existsSync('/usr/bin/apt-get'))
    fail(`missing packages ${missing.join(' ')} and no apt-get: install them by hand`);
  process.stderr.write(`tidewatch: installing ${missing.join(' ')}\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) =>
    spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env }).status === 0;
  if (!run(['update', '-qq']) || !run(['install', '-y', '-qq', '--no-install-recommends', ...missing]))
    fail(`apt-get could not install ${missing.join(' ')}; run: apt-get update && ${cmd}`);
}
if (mode === 'system') process.exit(0);

const npm = (args) => {
  const r = spawnSync('npm', args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: process.env });
  if (r.status !== 0) fail(`npm ${args.join(' ')} failed (exit ${r.status}); run it by hand to see why`);
};

if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) npm(['ci', '--no-audit', '--no-fund']);
if (!existsSync(join(root, 'build', 'Release', 'tidewatch_pcap.node'))) npm(['run', 'native']);

// Rebuild the TypeScript when any source is newer than its output.
function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}
const main = join(root, 'dist', 'src', 'cli', 'main.js');
const srcTime = Math.max(...['src', 'test', 'bench'].map((d) => newest(join(root, d))));
if (!existsSync(main) || statSync(main).mtimeMs < srcTime || newest(join(root, 'dist')) < srcTime)
  npm(['run', 'build']);
try {
  execFileSync(process.execPath, [main, 'version'], { stdio: 'ignore' });
} catch {
  fail('the build did not produce a working CLI; run npm run build to see why');
}
