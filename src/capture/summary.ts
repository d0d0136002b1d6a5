// The readable (non --json) report of `tidewatch analyze`: totals, top ports, top sources, protocols.
import type { AnalyzeReport } from './analyze-report.js';

const PROTO_NAMES: Record<string, string> = {
  '1': 'icmp',
  '2': 'igmp',
  '6': 'tcp',
  '17': 'udp',
  '41': 'ipv6-in-ip',
  '47': 'gre',
  '50': 'esp',
  '51': 'ah',
  '58': 'icmpv6',
  '132': 'sctp',
};
const ETHER_NAMES: Record<string, string> = {
  '0x0800': 'ipv4',
  '0x86dd': 'ipv6',
  '0x0806': 'arp',
  '0x8035': 'rarp',
  '0x88cc': 'lldp',
  '0x8863': 'pppoe-discovery',
  '0x8864': 'pppoe-session',
  '0x8847': 'mpls',
};

function top(counts: Record<string, number>, n: number): [string, number][] {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1] || Number(a[0]) - Number(b[0]))
    .slice(0, n);
}

const fmt = (n: number): string => n.toLocaleString('en-US');

function table(title: string, rows: [string, number][], label: (k: string) => string): string[] {
  if (!rows.length) return [];
  const width = Math.max(...rows.map(([k]) => label(k).length), 6);
  return [title, ...rows.map(([k, v]) => `  ${label(k).padEnd(width)}  ${fmt(v).padStart(12)}`), ''];
}

/** Text for a terminal; every value comes from the same report that --json prints. */
export function formatSummary(file: string, r: AnalyzeReport, topN = 10): string {
  const out: string[] = [];
  out.push(
    `${file}: ${fmt(r.packets)} packets, ${fmt(r.malformed)} malformed` + (r.truncated ? ', TRUNCATED' : ''),
  );
  if (r.truncated)
    out.push(`  the file ends mid-record (${r.error ?? 'truncated'}): counts cover what was read`);
  const syns = Object.values(r.tcp.syn).reduce((a, b) => a + b, 0);
  out.push(`  ${fmt(syns)} TCP connection attempts from ${fmt(r.sources)} sources`, '');
  out.push(...table('Top TCP ports (connection attempts)', top(r.tcp.syn, topN), (k) => `${k}/tcp`));
  out.push(...table('Top TCP ports (all packets)', top(r.tcp.all, topN), (k) => `${k}/tcp`));
  out.push(...table('Top UDP ports', top(r.udp, topN), (k) => `${k}/udp`));
  out.push(...table('Top sources (connection attempts and datagrams)', top(r.topSources, topN), (k) => k));
  out.push(
    ...table('IP protocols', top(r.ip_protocols, 256), (k) =>
      PROTO_NAMES[k] ? `${k} ${PROTO_NAMES[k]}` : k,
    ),
  );
  out.push(
    ...table('Ethertypes', top(r.ethertypes, 64), (k) => (ETHER_NAMES[k] ? `${k} ${ETHER_NAMES[k]}` : k)),
  );
  return out.join('\n').replace(/\n*$/, '\n');
}
