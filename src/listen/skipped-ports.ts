// Ports of one protocol that could not be bound, sorted by reason, and the one warning per reason that
// names the fix.
import type { Logger } from '../core/log.js';
import { formatPorts } from '../config/units.js';

export const errCode = (err: unknown): string => (err as NodeJS.ErrnoException)?.code ?? 'ERR';

export class SkippedPorts {
  readonly inUse: number[] = [];
  readonly denied: number[] = [];
  readonly other: number[] = [];

  /** overLimit: the ports left out before binding because they did not fit the open-file limit. */
  constructor(
    private readonly proto: 'tcp' | 'udp',
    private readonly log: Logger,
    readonly overLimit: number[],
  ) {}

  note(port: number, err: unknown): void {
    const code = errCode(err);
    const list =
      code === 'EADDRINUSE'
        ? this.inUse
        : code === 'EACCES' || code === 'EPERM'
          ? this.denied
          : code === 'EMFILE' || code === 'ENFILE'
            ? this.overLimit
            : this.other;
    if (!list.includes(port)) list.push(port);
    if (list === this.other) this.log.debug({ port, code }, 'cannot bind port');
  }

  /** bound: how many ports of this protocol were bound; fdLimit: the soft open-file limit. */
  report(bound: number, fdLimit: number): void {
    const { proto, log } = this;
    const f = (l: number[]) => formatPorts([...new Set(l)].sort((a, b) => a - b));
    if (this.inUse.length)
      log.warn({ proto, ports: f(this.inUse) }, `${proto} ports in use by other services, skipped`);
    if (this.denied.length)
      log.warn(
        { proto, ports: f(this.denied) },
        `${proto} ports not permitted, skipped: ports below 1024 need root or CAP_NET_BIND_SERVICE`,
      );
    if (this.other.length)
      log.warn({ proto, ports: f(this.other) }, `${proto} ports that could not be bound, skipped`);
    if (this.overLimit.length)
      log.warn(
        { proto, bound, skipped: f(this.overLimit), fdLimit },
        `open-file limit too low: bound ${bound} ${proto} ports, ` +
          `skipped ${this.overLimit.length}; raise the hard limit (ulimit -Hn, LimitNOFILE= in the systemd unit, ` +
          `or prlimit --pid PID --nofile=N:N) or use --listen tproxy, which needs two sockets for all ports`,
      );
  }
}
