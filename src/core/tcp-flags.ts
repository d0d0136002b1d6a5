// TCP flags (byte 13 of the header) and what they make a packet that opens no known conversation: nmap's
// names for its scan types, and the subset that capture counts as probes.
import type { ProbeKind } from './events.js';

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

/** The six classic flags; ECE and CWR (ECN) never change what a packet is. */
const FLAGS6 = 0x3f;

/** A connection attempt: SYN set and ACK clear, whatever else is set (SYN+ECE+CWR is an ECN SYN). */
export const isConnectionAttempt = (flags: number): boolean => (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN;

/**
 * nmap's scan type of a packet's flags, or undefined for packets that belong to a conversation (SYN+ACK,
 * RST, PSH+ACK ...). syn: SYN without ACK (-sS, -sT, every client); null: no flags (-sN); fin: FIN alone
 * (-sF); xmas: FIN+PSH+URG (-sX); maimon: FIN+ACK (-sM); ack: ACK alone (-sA, -sW); other: any other
 * combination without ACK.
 */
export function scanTypeFromFlags(flags: number): ProbeKind | undefined {
  const f = flags & FLAGS6;
  if (f & TCP_SYN) return f & TCP_ACK ? undefined : 'syn';
  if (f & TCP_RST) return undefined;
  switch (f) {
    case 0:
      return 'null';
    case TCP_FIN:
      return 'fin';
    case TCP_FIN | TCP_PSH | TCP_URG:
      return 'xmas';
    case TCP_FIN | TCP_ACK:
      return 'maimon';
    case TCP_ACK:
      return 'ack';
    default:
      return f & TCP_ACK ? undefined : 'other';
  }
}

/**
 * What a TCP segment is as a probe for capture, or null when it is not one: its scan type, except ACK-only
 * and other combinations, which a passive counter without flow state cannot tell apart from established
 * traffic (docs/counters.md).
 */
export function tcpProbeKind(flags: number): ProbeKind | null {
  const kind = scanTypeFromFlags(flags);
  return kind === undefined || kind === 'ack' || kind === 'other' ? null : kind;
}

/** Stealth kinds: no legitimate client opens a conversation with them. */
export const STEALTH_KINDS: ReadonlySet<ProbeKind> = new Set([
  'fin',
  'null',
  'xmas',
  'maimon',
  'ack',
  'other',
]);
