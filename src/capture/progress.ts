// A one-line progress bar on stderr for long `analyze` runs (only used when stderr is a terminal).
export class ProgressBar {
  private last = 0;
  constructor(
    private readonly total: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number): void {
    const now = Date.now();
    if (now - this.last < 200) return;
    this.last = now;
    const frac = Math.min(1, done / this.total);
    const width = 30;
    const full = Math.round(frac * width);
    this.out.write(
      `\r[${'#'.repeat(full)}${' '.repeat(width - full)}] ${(frac * 100).toFixed(0).padStart(3)}%`,
    );
  }

  done(): void {
    if (this.last) this.out.write('\r' + ' '.repeat(40) + '\r');
  }
}
