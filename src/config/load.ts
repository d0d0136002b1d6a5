// Config is read once: defaults < TOML file (--config) < TIDEWATCH_* env < flags; validated, then frozen.
// An unknown key or a bad value stops the start with one line that names the fix.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { ConfigError } from '../core/errors.js';
import { type Config, envOf, flagOf, OPTIONS, type OptionKey } from './schema.js';
import { parseHostPort } from './units.js';

const KEYS = Object.keys(OPTIONS) as OptionKey[];
const BY_FLAG = new Map(KEYS.map((k) => [flagOf(k), k]));

export interface ConfigSources {
  /** Flag values by flag name without dashes ("idle-timeout"). */
  flags?: Record<string, string | boolean | undefined>;
  env?: NodeJS.ProcessEnv;
  /** Path of a TOML file. */
  configFile?: string;
}

/** Closest flag name, for "did you mean" in errors. */
export function suggestFlag(name: string): string | undefined {
  let best: string | undefined;
  let bestDist = 3;
  for (const flag of BY_FLAG.keys()) {
    const d = editDistance(name, flag);
    if (d < bestDist) [best, bestDist] = [flag, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function readToml(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `cannot read config file ${path}: ${(err as Error).message}; check the --config path`,
    );
  }
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (err) {
    const first = String((err as Error).message).split('\n')[0];
    throw new ConfigError(`config file ${path} is not valid TOML: ${first}`);
  }
}

export function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? homedir() + path.slice(1) : path;
}

export function loadConfig(sources: ConfigSources = {}): Config {
  const raw = new Map<OptionKey, { value: unknown; where: string }>();
  if (sources.configFile) {
    for (const [name, value] of Object.entries(readToml(sources.configFile))) {
      const key = BY_FLAG.get(name);
      if (!key) {
        const hint = suggestFlag(name);
        throw new ConfigError(
          `unknown key "${name}" in ${sources.configFile}` +
            (hint ? `: did you mean "${hint}"?` : ': see tidewatch run --help'),
        );
      }
      raw.set(key, { value, where: `key "${name}" in ${sources.configFile}` });
    }
  }
  const env = sources.env ?? {};
  for (const name of Object.keys(env)) {
    if (!name.startsWith('TIDEWATCH_')) continue;
    const key = KEYS.find((k) => envOf(k) === name);
    if (!key)
      throw new ConfigError(`unknown environment variable ${name}: unset it or see tidewatch run --help`);
    raw.set(key, { value: env[name], where: `${name}` });
  }
  for (const [name, value] of Object.entries(sources.flags ?? {})) {
    if (value === undefined) continue;
    const key = BY_FLAG.get(name);
    if (!key) {
      const hint = suggestFlag(name);
      throw new ConfigError(
        `unknown flag --${name}` + (hint ? `: did you mean --${hint}?` : ': see tidewatch run --help'),
      );
    }
    raw.set(key, { value, where: `--${name}` });
  }

  const out: Record<string, unknown> = {};
  for (const key of KEYS) {
    const opt = OPTIONS[key];
    const given = raw.get(key);
    const result = opt.schema.safeParse(given ? given.value : opt.default);
    if (!result.success) {
      const why = result.error.issues[0]?.message ?? 'invalid value';
      const where = given?.where ?? `default of --${flagOf(key)}`;
      throw new ConfigError(`bad value for ${where}: ${why}`);
    }
    out[key] = result.data;
  }
  return Object.freeze(checkCombined(out as Config));
}

/** Rules that span several options. */
function checkCombined(cfg: Config): Config {
  const fixed: Record<string, unknown> = { ...cfg, dataDir: resolve(expandHome(cfg.dataDir)) };
  if (Boolean(cfg.tlsCert) !== Boolean(cfg.tlsKey))
    throw new ConfigError(
      '--tls-cert and --tls-key go together: give both, or neither for a self-signed certificate',
    );
  if (cfg.http !== 'off' && !parseHostPort(cfg.http))
    throw new ConfigError(
      `bad value for --http: "${cfg.http}" is not ADDR:PORT (127.0.0.1:8339, [::1]:8339) or off`,
    );
  if (cfg.jsonTcp && !parseHostPort(cfg.jsonTcp))
    throw new ConfigError(
      `bad value for --json-tcp: "${cfg.jsonTcp}" is not HOST:PORT (for example 127.0.0.1:5170)`,
    );
  if (cfg.idleTimeout <= 0 || cfg.maxSession <= 0)
    throw new ConfigError('--idle-timeout and --max-session must be longer than 0s');
  if (cfg.bufsize < 1 || cfg.bufsize > 16 * 1024 * 1024)
    throw new ConfigError('bad value for --bufsize: keep it from 1 byte to 16MiB');
  return Object.freeze(fixed) as Config;
}
