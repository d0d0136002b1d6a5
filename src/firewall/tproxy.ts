// nftables TPROXY rules and the policy routing they need, for --listen tproxy (docs/tproxy.md).
// tidewatch owns one table (inet tidewatch_tproxy), one ip rule per family (fwmark → table) and one local
// default route per family in that table. It removes all of them on close, on SIGTERM/SIGINT (via close),
// at process exit, and — idempotently — at the next start after a crash or SIGKILL.
//
// The ruleset text is generated here from validated values only (integer ports, CIDRs checked with
// node:net, interface names from a strict alphabet); nothing a remote peer sends can reach it.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { httpPort, portRanges } from '../config/units.js';
import { ConfigError, TidewatchError } from '../core/errors.js';
import { parseAddress } from '../core/addresses.js';

export const TABLE = 'tidewatch_tproxy';
/** fwmark set on diverted packets ("tw"). */
export const MARK = 0x7477;
/** Routing table holding `local default dev lo`, and the ip rule preference (before main at 32766). */
export const ROUTE_TABLE = 29815;
export const RULE_PREF = 29815;

export type Family = 4 | 6;

export interface TproxyPlan {
  /** Port of the transparent sockets. */
  port: number;
  /** Interfaces whose traffic is taken; empty = every interface but lo. */
  ifaces: string[];
  /** Destination CIDRs taken per family; null = any destination of that family; [] = none. */
  dst4: string[] | null;
  dst6: string[] | null;
  /**
   * Families whose "any destination" is narrowed to the host's own addresses because the host forwards
   * packets (a router, a container host): routed traffic is meant for other hosts, never taken.
   */
  localOnly: Family[];
  /** Families with transparent sockets (rules and routes only for those). */
  families: Family[];
  /** Destination ports never diverted, per protocol (sorted, unique). */
  tcpExcluded: number[];
  udpExcluded: number[];
}

export interface PlanInput {
  tproxyPort: number;
  tproxyIface: readonly string[];
  tproxyDst: readonly string[];
  sshPort: number;
  excludePorts: readonly number[];
  http: string;
}

const IFNAME = /^[A-Za-z0-9_.@+-]{1,15}$/;

function checkPort(p: number, what: string): number {
  if (!Number.isInteger(p) || p < 1 || p > 65535)
    throw new ConfigError(`${what}: ${p} is not a port 1-65535`);
  return p;
}

/** Validates a CIDR (or a bare address) and returns its canonical network form, with the family. */
export function parseCidr(text: string): { family: Family; cidr: string } {
  const [addr = '', len, extra] = text.trim().split('/');
  const family: Family | 0 = isIPv4(addr) ? 4 : isIPv6(addr) && !addr.includes('%') ? 6 : 0;
  if (!family || extra !== undefined)
    throw new ConfigError(
      `--tproxy-dst: ${JSON.stringify(text)} is not an address or CIDR (e.g. 198.18.1.0/24)`,
    );
  const max = family === 4 ? 32 : 128;
  const bits = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : -1;
  if (bits < 0 || bits > max)
    throw new ConfigError(`--tproxy-dst: prefix length in ${JSON.stringify(text)} must be 0-${max}`);
  const bytes = Array.from(parseAddress(addr)!); // validated above
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    bytes[i]! &= (0xff << (8 - keep)) & 0xff;
  }
  return { family, cidr: `${family === 4 ? bytes.join('.') : v6Text(bytes)}/${bits}` };
}

function v6Text(bytes: number[]): string {
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return g.join(':');
}

/** Families for which this host forwards packets (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding). */
export function forwardingFamilies(procSys = '/proc/sys/net'): Family[] {
  const on = (path: string): boolean => {
    try {
      return readFileSync(path, 'utf8').trim() !== '0';
    } catch {
      return false;
    }
  };
  const out: Family[] = [];
  if (on(`${procSys}/ipv4/ip_forward`)) out.push(4);
  if (on(`${procSys}/ipv6/conf/all/forwarding`)) out.push(6);
  return out;
}

/** Sorted unique ports, given as nft set elements with ranges merged (1-3, 5). */
export function portElements(ports: readonly number[]): string[] {
  return portRanges([...new Set(ports)].sort((a, b) => a - b));
}

/**
 * Builds the validated plan. `local` holds ports with a local listener at start: they, the SSH port,
 * --exclude-ports and the sensor's own --http port are never diverted.
 */
export function buildPlan(
  cfg: PlanInput,
  local: { tcp: readonly number[]; udp: readonly number[] },
  families: Family[],
  forwarding: Family[] = [],
): TproxyPlan {
  const port = checkPort(cfg.tproxyPort, '--tproxy-port');
  for (const i of cfg.tproxyIface)
    if (!IFNAME.test(i))
      throw new ConfigError(
        `--tproxy-iface: ${JSON.stringify(i)} is not an interface name (letters, digits, _ . - @ +)`,
      );
  let dst4: string[] | null = null;
  let dst6: string[] | null = null;
  if (cfg.tproxyDst.length) {
    dst4 = [];
    dst6 = [];
    for (const d of cfg.tproxyDst) {
      const c = parseCidr(d);
      (c.family === 4 ? dst4 : dst6).push(c.cidr);
    }
    dst4 = [...new Set(dst4)];
    dst6 = [...new Set(dst6)];
  }
  const common = [
    checkPort(cfg.sshPort, '--ssh-port'),
    ...cfg.excludePorts.map((p) => checkPort(p, '--exclude-ports')),
  ];
  const http = httpPort(cfg.http);
  const tcp = [...common, ...local.tcp.map((p) => checkPort(p, 'local listener'))];
  if (http !== undefined) tcp.push(http);
  const udp = [...common, ...local.udp.map((p) => checkPort(p, 'local listener'))];
  return {
    port,
    ifaces: [...cfg.tproxyIface],
    dst4,
    dst6,
    localOnly: cfg.tproxyDst.length ? [] : [...new Set(forwarding)].sort(),
    families: [...new Set(families)].sort(),
    tcpExcluded: [...new Set(tcp)].sort((a, b) => a - b),
    udpExcluded: [...new Set(udp)].sort((a, b) => a - b),
  };
}

/** The nftables ruleset for a plan (a whole `table inet tidewatch_tproxy`). */
export function renderRuleset(plan: TproxyPlan): string {
  const mark = `0x${MARK.toString(16)}`;
  const set = (name: string, type: string, elements: readonly string[]): string =>
    `\tset ${name} {\n\t\ttype ${type}; flags interval;\n` +
    (elements.length ? `\t\telements = { ${elements.join(', ')} }\n` : '') +
    '\t}\n';
  const lines: string[] = [];
  const rule = (s: string): number => lines.push(`\t\t${s}`);
  rule('type filter hook prerouting priority mangle; policy accept;');
  // Packets of connections already held by a transparent socket: deliver them locally, nothing else.
  rule(`meta l4proto tcp socket transparent 1 meta mark set ${mark} accept comment "tidewatch: own flows"`);
  if (plan.ifaces.length)
    rule(
      `iifname != { ${plan.ifaces.map((i) => `"${i}"`).join(', ')} } return comment "tidewatch: other interfaces"`,
    );
  else rule('iifname "lo" return comment "tidewatch: never loopback"');
  rule('meta pkttype != host return comment "tidewatch: no broadcast or multicast"');
  // A local non-transparent socket owns this destination: a service (also one started after tidewatch),
  // or the host's own outgoing flows and lookups (a connected socket, or an unconnected UDP socket waiting
  // for a DNS answer). Without conntrack on purpose: `ct state established` would load conntrack for the
  // whole host (random-tuple floods then fill its table) and stale ESTABLISHED entries left by reset
  // sessions let scanners that reuse a source port slip past the sensor for minutes.
  rule('meta l4proto { tcp, udp } socket transparent 0 return comment "tidewatch: a local socket owns it"');
  rule('tcp dport @tcp_excluded return comment "tidewatch: local services, ssh, --exclude-ports, --http"');
  rule('udp dport @udp_excluded return comment "tidewatch: local services, ssh, --exclude-ports"');
  const tproxy = (fam: Family, dst: string[] | null, proto: 'tcp' | 'udp'): void => {
    if (!plan.families.includes(fam) || (dst && dst.length === 0)) return;
    const nf = fam === 4 ? 'ipv4' : 'ipv6';
    const ipk = fam === 4 ? 'ip' : 'ip6';
    const daddr = dst
      ? ` ${ipk} daddr @dst${fam}`
      : plan.localOnly.includes(fam)
        ? ' fib daddr type local'
        : '';
    rule(
      `meta nfproto ${nf} meta l4proto ${proto}${daddr} tproxy ${ipk} to :${plan.port} meta mark set ${mark} accept`,
    );
  };
  for (const fam of [4, 6] as const) {
    tproxy(fam, fam === 4 ? plan.dst4 : plan.dst6, 'tcp');
    tproxy(fam, fam === 4 ? plan.dst4 : plan.dst6, 'udp');
  }
  let sets = set('tcp_excluded', 'inet_service', portElements(plan.tcpExcluded));
  sets += set('udp_excluded', 'inet_service', portElements(plan.udpExcluded));
  if (plan.dst4) sets += set('dst4', 'ipv4_addr', plan.dst4);
  if (plan.dst6) sets += set('dst6', 'ipv6_addr', plan.dst6);
  return `table inet ${TABLE} {\n${sets}\tchain prerouting {\n${lines.join('\n')}\n\t}\n}\n`;
}

interface RunResult {
  code: number;
  stderr: string;
  missing: boolean;
}

function run(cmd: string, args: string[], input?: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 15_000 }, (err, _stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: unknown }) | null;
      resolve({
        code: e ? (typeof e.code === 'number' ? e.code : 1) : 0,
        stderr: String(stderr).trim() || (e?.message ?? ''),
        missing: e?.code === 'ENOENT',
      });
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(input ?? '');
  });
}

function runSync(cmd: string, args: string[], input?: string): boolean {
  try {
    execFileSync(cmd, args, { input: input ?? '', stdio: ['pipe', 'ignore', 'ignore'], timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}

function fail(what: string, r: RunResult): never {
  const tool = what.startsWith('nft') ? 'nft' : 'ip';
  let fix = '';
  if (r.missing)
    fix =
      tool === 'nft'
        ? 'install nftables (apt-get install nftables)'
        : 'install iproute2 (apt-get install iproute2)';
  else if (/not permitted|permission denied/i.test(r.stderr)) fix = 'run as root or with CAP_NET_ADMIN';
  else if (/No such file or directory|not supported/i.test(r.stderr) && tool === 'nft')
    fix = 'the kernel lacks nftables tproxy/socket support: modprobe nft_tproxy nft_socket';
  const detail = r.stderr.split('\n').find((l) => l.trim()) ?? `exit ${r.code}`;
  throw new TidewatchError(
    'TW_ERR_FIREWALL',
    `tproxy: ${what} failed (${detail.trim()})${fix ? `: ${fix}` : ''}`,
  );
}

/** `ip -4|-6 rule add|del` of the fwmark rule that sends marked packets to the local route table. */
const ruleArgs = (fam: Family, op: 'add' | 'del'): string[] => [
  `-${fam}`,
  'rule',
  op,
  'pref',
  String(RULE_PREF),
  'fwmark',
  `0x${MARK.toString(16)}`,
  'lookup',
  String(ROUTE_TABLE),
];

/** Removes the table, ip rules and routes of any earlier run (also a crashed one). Idempotent. */
export async function removeTproxy(): Promise<RunResult> {
  // `add` then `delete` in one transaction: deletes whether or not the table exists.
  const nft = await run('nft', ['-f', '-'], `table inet ${TABLE}\ndelete table inet ${TABLE}\n`);
  for (const fam of [4, 6] as const) {
    // Several copies may exist after repeated crashes: delete until none is left (bounded).
    for (let i = 0; i < 16; i++) if ((await run('ip', ruleArgs(fam, 'del'))).code !== 0) break;
    await run('ip', [`-${fam}`, 'route', 'flush', 'table', String(ROUTE_TABLE)]);
  }
  return nft;
}

/** Synchronous removeTproxy for process exit and destroy(). */
export function removeTproxySync(): void {
  runSync('nft', ['-f', '-'], `table inet ${TABLE}\ndelete table inet ${TABLE}\n`);
  for (const fam of [4, 6] as const) {
    for (let i = 0; i < 16; i++) if (!runSync('ip', ruleArgs(fam, 'del'))) break;
    runSync('ip', [`-${fam}`, 'route', 'flush', 'table', String(ROUTE_TABLE)]);
  }
}

export interface TproxyRules {
  readonly ruleset: string;
  /** Adds ports to the excluded set of a protocol (a local service that appeared while running). */
  exclude(proto: 'tcp' | 'udp', ports: readonly number[]): Promise<void>;
  /** Removes everything installed. Idempotent. */
  close(): Promise<void>;
  /** Synchronous removal (forced shutdown). Idempotent. */
  destroy(): void;
}

/** The policy routing that delivers marked packets locally: a local default route in our table, and its rule. */
async function addRouting(fam: 4 | 6): Promise<void> {
  const any = fam === 4 ? '0.0.0.0/0' : '::/0';
  const table = String(ROUTE_TABLE);
  const r1 = await run('ip', [`-${fam}`, 'route', 'add', 'local', any, 'dev', 'lo', 'table', table]);
  if (r1.code !== 0) fail(`ip -${fam} route add local ${any} dev lo table ${ROUTE_TABLE}`, r1);
  const r2 = await run('ip', ruleArgs(fam, 'add'));
  if (r2.code !== 0) fail(`ip -${fam} rule add fwmark 0x${MARK.toString(16)} lookup ${ROUTE_TABLE}`, r2);
}

/**
 * Installs the plan: cleans leftovers first, then routing (so a diverted packet is never routed away),
 * then the table in one atomic nft transaction. On any error, removes what it added and throws.
 */
export async function installTproxy(plan: TproxyPlan): Promise<TproxyRules> {
  await removeTproxy();
  const ruleset = renderRuleset(plan);
  try {
    for (const fam of plan.families) await addRouting(fam);
    const r = await run('nft', ['-f', '-'], `table inet ${TABLE}\ndelete table inet ${TABLE}\n${ruleset}`);
    if (r.code !== 0) fail('nft -f (table inet tidewatch_tproxy)', r);
  } catch (err) {
    await removeTproxy();
    throw err;
  }
  const onExit = (): void => removeTproxySync();
  process.once('exit', onExit);
  let state: 'up' | 'closing' | 'down' = 'up';
  let closing: Promise<void> | undefined;
  return {
    ruleset,
    async exclude(proto, ports) {
      if (state !== 'up' || !ports.length) return;
      for (const p of ports) checkPort(p, 'excluded port');
      const r = await run(
        'nft',
        ['-f', '-'],
        `add element inet ${TABLE} ${proto}_excluded { ${portElements(ports).join(', ')} }\n`,
      );
      if (r.code !== 0) fail(`nft add element ${proto}_excluded`, r);
    },
    close() {
      closing ??= (async () => {
        state = 'closing';
        const nft = await removeTproxy();
        // On failure destroy() and the exit hook still try once more, synchronously.
        state = nft.code === 0 ? 'down' : 'up';
        if (nft.code !== 0) fail(`nft delete table inet ${TABLE}`, nft);
        process.off('exit', onExit);
      })();
      return closing;
    },
    destroy() {
      if (state === 'down') return;
      state = 'down';
      removeTproxySync();
      process.off('exit', onExit);
    },
  };
}
