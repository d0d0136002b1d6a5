// Contracts between the listener's session handling and the sockets that feed it (per-port binder,
// transparent TPROXY sockets) and the tarpit.
import type { Socket } from 'node:net';

export interface Datagram {
  src: string;
  sport: number;
  dst: string;
  dport: number;
  /** Kept bytes (the first --bufsize of the datagram). */
  data: Buffer;
  /** Size of the whole datagram on the wire (may exceed data.length). */
  bytes: number;
  /** Receive time, ms since the epoch. */
  time: number;
  /** Sends a reply to the datagram's source from its destination (--respond-udp; in tproxy mode from the original destination). */
  reply?: (data: Buffer) => void;
}

/** Session handling that every socket source hands its traffic to (implemented in listen/sessions.ts). */
export interface SessionHandler {
  /**
   * Takes a listening TCP socket's descriptor and owns it: accepts, records (the original destination is
   * the accepted socket's local address), sniffs TLS, applies caps and timeouts, closes (RST/FIN).
   * The handle's close() stops accepting on it and closes it; open sessions stay.
   */
  listenTcp(fd: number): { close(): void };
  /** Records one UDP datagram as a session. */
  recordUdp(d: Datagram): void;
}

/** Holds sockets open and feeds them a byte every few seconds instead of closing them (--tarpit). */
export interface Tarpit {
  /** Takes over the socket; false when the tarpit is full (the caller then closes it as usual). */
  hold(socket: Socket): boolean;
  close(): Promise<void>;
  destroy(): void;
}
