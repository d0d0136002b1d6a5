// A line splitter for line-based protocols (Telnet, FTP, SMTP, POP3, IMAP, Redis inline): works on chunks
// split anywhere, ends lines at LF (CRs and NULs before it are dropped: CRLF, Telnet's CR NUL), and cuts a
// line at maxLineBytes (the rest of it is counted and dropped), so a client never grows a buffer past it.
export const MAX_LINE_BYTES = 4096;

export class LineReader {
  private parts: Buffer[] = [];
  private size = 0;
  /** Bytes dropped because a line was longer than the cap. */
  dropped = 0;

  constructor(private readonly maxLineBytes = MAX_LINE_BYTES) {}

  /** The complete lines in `d`, without their line ends. */
  push(d: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let start = 0;
    for (;;) {
      const nl = d.indexOf(0x0a, start);
      const end = nl < 0 ? d.length : nl;
      this.add(d.subarray(start, end));
      if (nl < 0) break;
      out.push(this.take());
      start = nl + 1;
    }
    return out;
  }

  /** What is held of an unfinished line. */
  get pending(): number {
    return this.size;
  }

  private add(b: Buffer): void {
    const room = this.maxLineBytes - this.size;
    if (b.length > room) {
      this.dropped += b.length - Math.max(0, room);
      b = b.subarray(0, Math.max(0, room));
    }
    if (b.length) {
      this.parts.push(Buffer.from(b));
      this.size += b.length;
    }
  }

  private take(): Buffer {
    let line = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    // Trailing CR (CRLF) and Telnet's CR NUL.
    let n = line.length;
    while (n > 0 && (line[n - 1] === 0x0d || line[n - 1] === 0)) n--;
    if (n !== line.length) line = line.subarray(0, n);
    return line;
  }
}
