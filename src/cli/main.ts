// argv → config → sensor. The only place that may call process.exit. Errors at start are one line.
// Each command imports what it needs when it runs: `analyze` must not pay for the sensor, the store,
// GeoIP or the web server (their modules alone take longer to load than a small capture takes to read).
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Config } from '../config/schema.js';
import { isTidewatchError, TidewatchError } from '../core/errors.js';

function die(message: string, code = 2): never {
  process.stderr.write(`tidewatch: ${message}\n`);
  process.exit(code);
}

/** parseArgs with a one-line error (and a suggestion) for unknown flags. */
async function parse(args: string[], options: NonNullable<ParseArgsConfig['options']>, positionals = false) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: positionals });
  } catch (err) {
    const m = /'(--?[\w-]+)/.exec((err as Error).message);
    const name = m?.[1]?.replace(/^-+/, '');
    const { suggestFlag } = await import('../config/load.js');
    const hint = name ? suggestFlag(name) : undefined;
    die(`${(err as Error).message.split('\n')[0]}` + (hint ? `: did you mean --${hint}?` : ''));
  }
}

/** The flags of `run` and `serve`: --config, --help and one per config option. */
async function runFlags(): Promise<NonNullable<ParseArgsConfig['options']>> {
  const { OPTIONS, flagOf } = await import('../config/schema.js');
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  };
  for (const key of Object.keys(OPTIONS) as (keyof typeof OPTIONS)[])
    options[flagOf(key)] = { type: OPTIONS[key].kind === 'boolean' ? 'boolean' : 'string' };
  return options;
}

/** The first line, in plain words: what this sensor is about to do and where its data goes. */
function startingLine(cfg: Config): string {
  const listen = { ports: 'listening on ports', tproxy: 'listening through TPROXY', off: 'not listening' }[
    cfg.listen
  ];
  const capture = cfg.capture ? `capturing packets on ${cfg.capture}` : 'no packet capture (--capture IFACE)';
  return `sensor ${cfg.sensor} starting: data in ${cfg.dataDir}, ${listen}, ${capture}`;
}

/** `run` starts the sensor; `serve` only the dashboard and API over a fleet's ClickHouse. Same options. */
async function run(args: string[], mode: 'run' | 'serve' = 'run'): Promise<void> {
  const [{ loadConfig }, { createLogger, resolveLogFormat }, { startSensor, startServe }, help] =
    await Promise.all([
      import('../config/load.js'),
      import('../core/log.js'),
      import('../sensor.js'),
      import('./help.js'),
    ]);
  const { values } = await parse(args, await runFlags());
  if (values.help) {
    process.stdout.write(mode === 'serve' ? help.SERVE_HELP : help.runHelp());
    return;
  }
  const { config, help: _help, ...flags } = values as Record<string, string | boolean | undefined>;
  const cfg = loadConfig({
    flags,
    env: process.env,
    configFile: typeof config === 'string' ? config : undefined,
  });
  if (mode === 'serve' && (!cfg.clickhouse || cfg.http === 'off'))
    die('serve needs --clickhouse URL and an --http ADDR:PORT (tidewatch serve --help)');
  const log = createLogger(cfg.logLevel, 2, resolveLogFormat(cfg.logFormat));
  log.info(
    mode === 'serve'
      ? { serve: cfg.http }
      : { sensor: cfg.sensor, dataDir: cfg.dataDir, listen: cfg.listen, capture: cfg.capture || null },
    mode === 'serve' ? 'starting the fleet dashboard' : startingLine(cfg),
  );
  const sensor = mode === 'serve' ? await startServe(cfg, log) : await startSensor(cfg, log);
  log.info({ http: cfg.http }, mode === 'serve' ? 'fleet dashboard ready' : 'sensor ready');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: stopping now');
      sensor.destroy();
      process.exit(130);
    }
    stopping = true;
    log.info({ signal }, 'stopping');
    sensor.close().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err) => {
        log.error({ err }, 'stop failed');
        sensor.destroy();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    log.info('SIGHUP: reopening files');
    sensor.reopen();
  });
}

async function analyze(args: string[]): Promise<void> {
  const { values, positionals } = await parse(
    args,
    {
      json: { type: 'boolean' },
      filter: { type: 'string' },
      'max-sources': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    process.stdout.write((await import('./help.js')).ANALYZE_HELP);
    return;
  }
  if (positionals.length !== 1) die('analyze takes one capture file: tidewatch analyze FILE [--json]');
  const maxSources = Number(values['max-sources'] ?? 1_000_000);
  if (!Number.isInteger(maxSources) || maxSources < 1)
    die('bad value for --max-sources: write a whole number above 0');
  const { runAnalyze } = await import('../capture/analyze.js');
  const code = await runAnalyze({
    file: positionals[0]!,
    json: Boolean(values.json),
    filter: String(values.filter ?? ''),
    maxSources,
  });
  process.exitCode = code;
}

/** tidewatch clickhouse init URL: creates or migrates the fleet schema, then exits. */
async function clickhouse(args: string[]): Promise<void> {
  const { values, positionals } = await parse(args, { help: { type: 'boolean', short: 'h' } }, true);
  if (values.help || positionals[0] !== 'init' || positionals.length !== 2) {
    if (!values.help) process.exitCode = 2;
    process.stdout.write((await import('./help.js')).CLICKHOUSE_HELP);
    return;
  }
  const [{ openClient, parseClickHouseUrl, PASSWORD_ENV, redacted }, { migrate }] = await Promise.all([
    import('../store/clickhouse/client.js'),
    import('../store/clickhouse/schema.js'),
  ]);
  const target = parseClickHouseUrl(positionals[1]!, process.env[PASSWORD_ENV] ?? '');
  const ch = openClient(target, { requestTimeoutMs: 30_000 });
  try {
    const m = await migrate(ch, target.database).catch((err: unknown) => {
      if (isTidewatchError(err)) throw err;
      throw new TidewatchError(
        'TW_ERR_CLICKHOUSE',
        `ClickHouse at ${redacted(target)}: ${(err as Error).message}`,
      );
    });
    process.stdout.write(`${redacted(target)}: schema ${m.from} -> ${m.to}\n`);
  } finally {
    await ch.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return run(rest);
    case 'serve':
      return run(rest, 'serve');
    case 'analyze':
      return analyze(rest);
    case 'clickhouse':
      return clickhouse(rest);
    case 'version':
    case '--version': {
      const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
        version: string;
      };
      process.stdout.write(pkg.version + '\n');
      return;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write((await import('./help.js')).MAIN_HELP);
      return;
    default:
      die(`unknown command "${command}": use run, serve, analyze, clickhouse or version (tidewatch --help)`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (isTidewatchError(err)) die(err.message, err.code === 'TW_ERR_CONFIG' ? 2 : 1);
  process.stderr.write(`tidewatch: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
