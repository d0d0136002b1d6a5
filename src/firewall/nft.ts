// Runs nftables scripts through `nft -f -` (one atomic transaction per call). We shell out rather than speak
// netlink ourselves: nft is the supported interface, its scripts are atomic, and no maintained npm library
// covers nftables sets. No shell is involved and only validated addresses are ever put into a script.
import { execFileSync, spawn } from 'node:child_process';
import { TidewatchError } from '../core/errors.js';

export const TABLE = 'tidewatch_block';
export const FAMILY = 'inet';

/** nft reports at most this much on stderr that we keep for the error message. */
const MAX_ERR = 2000;

function explain(stderr: string, code: number | null): TidewatchError {
  const first = stderr.split('\n').find((l) => l.trim()) ?? `exit code ${code}`;
  let fix = 'check that nftables works here (nft list tables) or use --block off';
  if (/not permitted|EPERM|Permission denied/i.test(stderr))
    fix = 'run as root or with CAP_NET_ADMIN, or use --block dry-run';
  else if (/No such file or directory.*(netlink|cache)|Protocol not supported/i.test(stderr))
    fix = 'the kernel lacks nf_tables: load the nf_tables module or use --block off';
  return new TidewatchError('TW_ERR_FIREWALL', `nft failed (${first.trim().slice(0, 200)}): ${fix}`);
}

/** Runs one script; rejects with TW_ERR_FIREWALL naming the fix. */
export function runNft(script: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn('nft', ['-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    } catch (err) {
      reject(notFound(err));
      return;
    }
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < MAX_ERR) stderr += d.toString();
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(notFound(err));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(explain(stderr, code));
    });
    child.stdin!.on('error', () => {});
    child.stdin!.end(script);
  });
}

/** Synchronous variant for destroy() and process exit, where no event loop turn is left. */
export function runNftSync(script: string): void {
  try {
    execFileSync('nft', ['-f', '-'], { input: script, stdio: ['pipe', 'ignore', 'pipe'], timeout: 5000 });
  } catch (err) {
    const e = err as { stderr?: Buffer; status?: number; code?: string };
    if (e.code === 'ENOENT') throw notFound(err);
    throw explain(e.stderr?.toString() ?? '', e.status ?? null);
  }
}

function notFound(err: unknown): TidewatchError {
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT')
    return new TidewatchError(
      'TW_ERR_FIREWALL',
      'nft not found: install nftables (apt-get install nftables) or use --block off',
    );
  return new TidewatchError('TW_ERR_FIREWALL', `cannot run nft (${String(err)}): use --block off`);
}

/**
 * The table tidewatch installs. "table X" followed by "delete table X" in the same transaction removes the
 * leftover of a crashed run without failing when there is none. The drop rule runs in prerouting before
 * conntrack (priority raw - 10), so a blocked scanner costs no connection-tracking state.
 */
export function setupScript(maxBlocked: number): string {
  const size = Math.max(1, Math.floor(maxBlocked));
  return [
    `table ${FAMILY} ${TABLE}`,
    `delete table ${FAMILY} ${TABLE}`,
    `table ${FAMILY} ${TABLE} {`,
    `  set blocked4 { type ipv4_addr; flags timeout; size ${size}; }`,
    `  set blocked6 { type ipv6_addr; flags timeout; size ${size}; }`,
    `  chain prerouting {`,
    `    type filter hook prerouting priority raw - 10; policy accept;`,
    `    ip saddr @blocked4 counter drop`,
    `    ip6 saddr @blocked6 counter drop`,
    `  }`,
    `}`,
    '',
  ].join('\n');
}

/** Removes the table if present (again via the add-then-delete idiom, so a missing table is no error). */
export const teardownScript = (): string => `table ${FAMILY} ${TABLE}\ndelete table ${FAMILY} ${TABLE}\n`;

/** Strict character check on top of canonicalAddr(): nothing but address characters reaches nft. */
const SAFE = /^[0-9a-f:.]{2,45}$/;

/** One transaction adding elements with their timeouts (ms). */
export function addScript(items: { ip: string; family: 4 | 6; timeoutMs: number }[]): string {
  const lines: string[] = [];
  for (const fam of [4, 6] as const) {
    const els = items
      .filter((i) => i.family === fam && SAFE.test(i.ip))
      .map((i) => `${i.ip} timeout ${Math.max(1000, Math.round(i.timeoutMs))}ms`);
    if (els.length) lines.push(`add element ${FAMILY} ${TABLE} blocked${fam} { ${els.join(', ')} }`);
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}
