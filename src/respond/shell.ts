// The recording shell behind Telnet (and SSH with --ssh-accept): answers what bot loaders check before
// they send their dropper (BusyBox applets, echo -e, /proc files, uname), so that the dropper line comes
// and is recorded. Nothing a command names is ever run or fetched. Output per command is bounded.
/** Output of one command at most (echo of a long escape string). */
export const MAX_OUTPUT_BYTES = 4096;

const MOUNTS =
  'rootfs / rootfs rw 0 0\r\n/dev/root / squashfs ro,relatime 0 0\r\nproc /proc proc rw,relatime 0 0\r\n' +
  'sysfs /sys sysfs rw,relatime 0 0\r\ntmpfs /tmp tmpfs rw,relatime 0 0\r\ntmpfs /var tmpfs rw,relatime 0 0\r\n' +
  'devpts /dev/pts devpts rw,relatime,mode=600 0 0\r\n';
const CPUINFO =
  'processor\t: 0\r\nmodel name\t: ARMv7 Processor rev 5 (v7l)\r\nBogoMIPS\t: 38.40\r\n' +
  'Features\t: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm\r\n' +
  'CPU implementer\t: 0x41\r\nCPU architecture: 7\r\nHardware\t: Generic DT based system\r\n';
const FILES: Record<string, string> = {
  '/proc/mounts': MOUNTS,
  '/proc/cpuinfo': CPUINFO,
  '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\r\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\r\n',
};
const APPLETS = new Set([
  'cat',
  'chmod',
  'cp',
  'dd',
  'echo',
  'ftpget',
  'kill',
  'ls',
  'mkdir',
  'mount',
  'mv',
  'ps',
  'rm',
  'sh',
  'sleep',
  'tftp',
  'uname',
  'wget',
  'cd',
  'grep',
  'head',
  'nc',
  'tail',
  'true',
  'false',
]);
const SILENT = new Set([
  'enable',
  'system',
  'shell',
  'sh',
  'bash',
  'linuxshell',
  'cd',
  'chmod',
  'rm',
  'mkdir',
  'cp',
  'mv',
  'export',
  'ulimit',
  'kill',
  'killall',
  'pkill',
  'sleep',
  'dd',
  'true',
  ':',
  'history',
  'unset',
  'nohup',
  'crontab',
  'mount',
  'sync',
  'chattr',
  'ln',
  'touch',
  '>',
]);

export interface ShellReply {
  output: string;
  exit: boolean;
}

/** The answer to one command line: its parts (split on ; && || |) answered in turn. */
export function shellReply(line: string, uname = 'Linux'): ShellReply {
  let output = '';
  let exit = false;
  for (const part of splitCommands(line)) {
    const r = answer(part, uname);
    output += r.output;
    if (r.exit) exit = true;
    if (output.length > MAX_OUTPUT_BYTES) return { output: output.slice(0, MAX_OUTPUT_BYTES), exit };
  }
  return { output, exit };
}

/** Splits on ; & | outside quotes (linear scan). */
export function splitCommands(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = '';
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = '';
      cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      cur += ch;
    } else if (ch === ';' || ch === '&' || ch === '|') {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** Words of a command, quotes removed (no expansion). */
function words(cmd: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = '';
  let any = false;
  for (const ch of cmd) {
    if (quote) {
      if (ch === quote) quote = '';
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      any = true;
    } else if (ch === ' ' || ch === '\t') {
      if (cur || any) out.push(cur);
      cur = '';
      any = false;
    } else cur += ch;
  }
  if (cur || any) out.push(cur);
  return out;
}

function answer(cmd: string, uname: string): ShellReply {
  let w = words(cmd);
  let name = w[0] ?? '';
  const busybox = name === 'busybox' || name.endsWith('/busybox');
  if (busybox) {
    w = w.slice(1);
    name = w[0] ?? '';
    if (!name) return out('BusyBox v1.30.1 (2019-06-12 10:00:00 UTC) multi-call binary.\r\n');
    if (!APPLETS.has(name)) return out(`${name}: applet not found\r\n`);
  }
  const base = name.slice(name.lastIndexOf('/') + 1);
  switch (base) {
    case 'exit':
    case 'logout':
    case 'quit':
      return { output: '', exit: true };
    case 'echo':
      return out(echo(w.slice(1)));
    case 'cat':
      return out(w.slice(1).map(cat).join(''));
    case 'uname':
      return out(w.includes('-a') ? `${uname} localhost 4.9.0 #1 SMP armv7l GNU/Linux\r\n` : `${uname}\r\n`);
    case 'wget':
    case 'curl':
    case 'tftp':
    case 'ftpget':
      return out(`${base}: can't connect to remote host: Connection refused\r\n`);
    case 'ps':
      return out('  PID USER       VSZ STAT COMMAND\r\n    1 root      1352 S    init\r\n');
    case 'ls':
      return out('bin   dev   etc   lib   mnt   proc  root  sbin  sys   tmp   usr   var\r\n');
    case 'id':
    case 'whoami':
      return out(base === 'id' ? 'uid=0(root) gid=0(root)\r\n' : 'root\r\n');
  }
  if (SILENT.has(base) || !base) return out('');
  return out(`sh: ${base.slice(0, 64)}: not found\r\n`);
}

const out = (output: string): ShellReply => ({ output, exit: false });

function cat(path: string): string {
  if (path.startsWith('-')) return '';
  return FILES[path] ?? `cat: can't open '${path.slice(0, 128)}': No such file or directory\r\n`;
}

/** echo [-n] [-e] args: with -e, \xHH, \0NNN, \n, \t, \\ are decoded (as loaders use to test the shell). */
export function echo(args: string[]): string {
  let escapes = false;
  let newline = true;
  while (args[0] === '-e' || args[0] === '-n' || args[0] === '-ne' || args[0] === '-en') {
    if (args[0].includes('e')) escapes = true;
    if (args[0].includes('n')) newline = false;
    args = args.slice(1);
  }
  let s = args.join(' ').slice(0, MAX_OUTPUT_BYTES);
  if (escapes) s = unescape(s);
  return s + (newline ? '\r\n' : '');
}

function unescape(s: string): string {
  let o = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\' || i + 1 >= s.length) {
      o += c;
      continue;
    }
    const n = s[++i]!;
    if (n === 'x') {
      const hex = /^[0-9a-fA-F]{1,2}/.exec(s.slice(i + 1, i + 3))?.[0];
      if (hex) {
        o += String.fromCharCode(parseInt(hex, 16));
        i += hex.length;
      } else o += '\\x';
    } else if (n === '0') {
      const oct = /^[0-7]{1,3}/.exec(s.slice(i + 1, i + 4))?.[0] ?? '';
      o += String.fromCharCode(parseInt(oct || '0', 8) & 0xff);
      i += oct.length;
    } else o += n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : n === '\\' ? '\\' : '\\' + n;
  }
  return o;
}
