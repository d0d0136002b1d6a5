// The socket tables of /proc/net/{tcp,tcp6,udp,udp6}, read by the TPROXY rules (ports with a local service)
// and the firewall (established connections to real services). Read from /proc rather than by running `ss`:
// no external tool, no parsing of its changing output format.

/** One socket line; addresses stay in the kernel's hex (host-order words), which each user decodes. */
export interface ProcNetEntry {
  localHex: string;
  lport: number;
  remoteHex: string;
  rport: number;
  /** TCP state (0x01 ESTABLISHED, 0x0A LISTEN), or 0x07 for an unconnected UDP socket. */
  state: number;
  inode: number;
}

/** `sl local_address rem_address st tx_queue rx_queue tr tm->when retrnsmt uid timeout inode ...` */
export function parseProcNet(text: string): ProcNetEntry[] {
  const out: ProcNetEntry[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [localHex, lp] = f[1]!.split(':');
    const [remoteHex, rp] = f[2]!.split(':');
    if (!localHex || !lp || !remoteHex || !rp) continue;
    out.push({
      localHex,
      lport: parseInt(lp, 16),
      remoteHex,
      rport: parseInt(rp, 16),
      state: parseInt(f[3]!, 16),
      inode: Number(f[9]),
    });
  }
  return out;
}
