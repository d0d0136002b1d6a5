// Connection attempts and datagrams on their way to the daily table, queued a few hundred at a time so
// the table can read the rows they will touch all at once before adding them (DailyTable.warmV4): in a
// table of millions of rows each lookup otherwise waits for memory on its own. The table gets exactly
// the calls it would have got, in the same order; analyze feeds it this way (capture/analyze.ts).
import { type DailyTable, WARM_MAX } from './table.js';

/** kind: 0 IPv4 TCP, 1 IPv4 UDP (the table's protocol codes), 2 an address given as text. */
const TEXT = 2;

export class DailyQueue {
  private readonly kind = new Uint8Array(WARM_MAX);
  private readonly port = new Int32Array(WARM_MAX);
  private readonly dst = new Int32Array(WARM_MAX);
  private readonly src = new Int32Array(WARM_MAX);
  private readonly sec = new Float64Array(WARM_MAX);
  private readonly proto: string[] = [];
  private readonly dstText: string[] = [];
  private readonly srcText: string[] = [];
  private n = 0;

  constructor(private readonly table: DailyTable) {}

  /** As DailyTable.addV4 (unsigned or signed 32-bit addresses), added at the next flush. */
  addV4(tcp: boolean, dport: number, dst: number, src: number, tsSec: number): void {
    const i = this.n;
    this.kind[i] = tcp ? 0 : 1;
    this.port[i] = dport;
    this.dst[i] = dst;
    this.src[i] = src;
    this.sec[i] = tsSec;
    if (++this.n === WARM_MAX) this.flush();
  }

  /** As DailyTable.addRow of one event at tsSec, added at the next flush. */
  addRow(proto: string, dport: number, dst: string, src: string, tsSec: number): void {
    const i = this.n;
    this.kind[i] = TEXT;
    this.port[i] = dport;
    this.sec[i] = tsSec;
    this.proto[i] = proto;
    this.dstText[i] = dst;
    this.srcText[i] = src;
    if (++this.n === WARM_MAX) this.flush();
  }

  /** Adds everything queued to the table, in order. Call before reading the table. */
  flush(): void {
    const { kind, port, dst, src, sec, n, table } = this;
    this.n = 0;
    table.warmV4(kind, port, dst, src, sec, n);
    for (let i = 0; i < n; i++) {
      if (kind[i] === TEXT)
        table.addRow(this.proto[i]!, port[i]!, this.dstText[i]!, this.srcText[i]!, sec[i]!);
      else table.addV4(kind[i] === 0, port[i]!, dst[i]!, src[i]!, sec[i]!);
    }
  }
}
