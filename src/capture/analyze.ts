// `tidewatch analyze FILE [--json]`: counters of a pcap/pcapng file, offline.
// TODO(owner): filled in by the capture work stream.
export interface AnalyzeOptions {
  file: string;
  json: boolean;
  filter: string;
  maxSources: number;
}

/** Returns the process exit code. Writes results to stdout, errors as one line to stderr. */
export async function runAnalyze(_opts: AnalyzeOptions): Promise<number> {
  process.stderr.write('tidewatch: analyze is not built yet\n');
  return 1;
}
