// Addresses shared by several components: text to bytes (capture's address sets, the TPROXY rules' CIDR
// form, enrichment's range look-ups; node:net validates but has no parser to bytes, hence by hand) and
// the host's own addresses (capture's own-traffic filter, the firewall's never-block list).
import { isIPv4, isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';

/** Parses an IPv4 or IPv6 literal into its bytes (4 or 16); null when it is not an address. */
export function parseAddress(s: string): Uint8Array | null {
  const t = s.trim();
  if (isIPv4(t)) return Uint8Array.from(t.split('.').map(Number));
  if (!isIPv6(t)) return null;
  let text = t.replace(/%.*$/, '');
  const out = new Uint8Array(16);
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = dotted[1]!.split('.').map(Number);
    const hex = (v4[0]! * 256 + v4[1]!).toString(16) + ':' + (v4[2]! * 256 + v4[3]!).toString(16);
    text = text.slice(0, dotted.index) + hex;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const tl = tail ? tail.split(':') : [];
  const groups = [...h, ...new Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/** Every unicast address of every interface (all of them: traffic from any of them is ours). */
export function hostAddresses(): string[] {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) out.add(a.address.replace(/%.*$/, '').toLowerCase());
  return [...out].sort();
}
