// Help text generated from the config schema, so every flag is documented where it is defined.
import { OPTIONS, type OptionKey, envOf, flagOf } from '../config/schema.js';

const wrap = (s: string, width: number, indent: string): string => {
  const out: string[] = [];
  let line = '';
  for (const word of s.split(' ')) {
    if (line && line.length + word.length + 1 > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out.join('\n' + indent);
};

export function runHelp(): string {
  const lines = [
    'Usage: tidewatch run [options]',
    '',
    'Runs the sensor: listener, capture, detection, store and dashboard as configured.',
    'Every option can also be set in the TOML file given to --config (key = flag name)',
    'or in the environment (TIDEWATCH_ + flag name in upper snake case).',
    'Durations: 500ms, 30s, 5m, 1h, 2d (a bare number is seconds). Sizes: 8192, 8KiB, 64MiB, 1GB.',
    '',
    '  --config FILE'.padEnd(34) + 'TOML file with any of the options below',
    '  -h, --help'.padEnd(34) + 'this help',
  ];
  for (const key of Object.keys(OPTIONS) as OptionKey[]) {
    const opt = OPTIONS[key];
    const flag = `  --${flagOf(key)}${opt.kind === 'boolean' ? '' : ' ' + (opt.arg ?? '')}`;
    const def =
      opt.kind === 'boolean'
        ? ''
        : ` (default: ${String(opt.default) === '' ? 'none' : String(opt.default)})`;
    const text = wrap(`${opt.help}${def}. env ${envOf(key)}`, 78, ' '.repeat(34));
    lines.push(flag.length >= 33 ? `${flag}\n${' '.repeat(34)}${text}` : flag.padEnd(34) + text);
  }
  return lines.join('\n') + '\n';
}

export const MAIN_HELP = `Usage: tidewatch <command> [options]

Commands:
  run                 run the sensor (tidewatch run --help lists every option)
  analyze FILE        count a pcap or pcapng file offline (--json for one JSON document)
  serve               dashboard and API only, over a fleet's ClickHouse (tidewatch serve --help)
  clickhouse init URL create or migrate the fleet schema in ClickHouse
  version             print the version

The quick start is \`npm start\` (= tidewatch run on the embedded default).
`;

export const ANALYZE_HELP = `Usage: tidewatch analyze FILE [--json] [--filter BPF] [--max-sources N]

Reads a pcap or pcapng file and prints the same counters the live sensor keeps:
TCP connection attempts and packets per port, UDP per port, IP protocols, ethertypes,
sources and the daily rows (Tsusen's CSV).
  --json            one JSON document on stdout
  --filter BPF      BPF filter in tcpdump syntax
  --max-sources N   per-source rows kept at most (default 1000000)
`;

export const CLICKHOUSE_HELP = `Usage: tidewatch clickhouse init URL

Creates the fleet schema in ClickHouse, or migrates it to this version, and exits
(sensors started with --clickhouse do the same at start). URL:
http://USER:PASSWORD@HOST:8123/DATABASE; the password may instead come from
TIDEWATCH_CLICKHOUSE_PASSWORD. See docs/fleet.md.
`;

export const SERVE_HELP = `Usage: tidewatch serve --clickhouse URL [--http ADDR:PORT] [--http-token TOKEN]

Runs only the dashboard and the JSON API over a fleet's ClickHouse: no listener, no
capture, no store of its own. The same token rules as run: on loopback no token is asked
unless one is given; on any other address --http-token, or a generated token logged once.
  --clickhouse URL        http://USER:PASSWORD@HOST:8123/DATABASE (password may come from
                          TIDEWATCH_CLICKHOUSE_PASSWORD)
  --http ADDR:PORT        where to serve (default 127.0.0.1:8339)
  --http-token TOKEN      token for the dashboard and API
  --log-level LEVEL       operational log level
Every option of run is accepted; those of the sensor have no effect. See docs/fleet.md.
`;
