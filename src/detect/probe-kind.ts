// Probe type from the TCP flags of a packet that starts a conversation (nmap's names for its scan types).
// Capture uses it to label ProbeEvents; the detector reports the dominant kind of a scan episode.
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG } from '../capture/decode/frame.js';
import type { ProbeKind } from '../core/events.js';

// The flag bits are declared once, with the decoder; re-exported for the detector's users.
export { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG };

/**
 * Maps TCP flags (the low 6 bits of byte 13, ECE/CWR ignored) to a probe kind, or undefined for packets that
 * belong to an existing conversation (SYN+ACK, RST, PSH+ACK ...) and are no connection attempt.
 * - syn: SYN without ACK (nmap -sS, -sT, every client), whatever else is set (SYN+ECE+CWR is an ECN SYN)
 * - null: no flags (-sN); fin: FIN alone (-sF); xmas: FIN+PSH+URG (-sX); maimon: FIN+ACK (-sM);
 * - ack: ACK alone (-sA, -sW): only meaningful when capture knows no conversation for it.
 */
export function probeKindFromFlags(flags: number): ProbeKind | undefined {
  const f = flags & 0x3f;
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

/** Stealth kinds: no legitimate client opens a conversation with them. */
export const STEALTH_KINDS: ReadonlySet<ProbeKind> = new Set([
  'fin',
  'null',
  'xmas',
  'maimon',
  'ack',
  'other',
]);
