// docs/configuration.md is generated from the schema (npm run docs) and a test keeps the two in sync.
import { envOf, flagOf, OPTIONS, type OptionKey } from './schema.js';

const UNITS: Record<string, string> = {
  duration: 'duration (500ms, 30s, 5m, 1h, 2d; a bare number is seconds)',
  size: 'size (8192, 8KiB, 64MiB, 1GB; a bare number is bytes)',
  ports: 'port set (1-1023,8080,20000-20100)',
  list: 'comma-separated list (a TOML array too)',
  boolean: 'boolean (true/false, on/off, 1/0)',
  int: 'whole number',
  number: 'number',
  string: 'text',
  choice: 'one of',
};

const cell = (s: string) => s.replace(/\|/g, '\\|');

export function renderConfigDoc(): string {
  const rows = (Object.keys(OPTIONS) as OptionKey[]).map((key) => {
    const o = OPTIONS[key];
    const type = o.kind === 'choice' ? `one of \`${o.arg}\`` : UNITS[o.kind]!;
    const def =
      key === 'sensor' ? 'the host name' : String(o.default) === '' ? '—' : `\`${String(o.default)}\``;
    return `| \`--${flagOf(key)}\` | \`${envOf(key)}\` | ${cell(type)} | ${cell(def)} | ${cell(o.help)} |`;
  });
  return `# Configuration

<!-- Generated from src/config/schema.ts by \`npm run docs\`; a test fails when this file is out of date. -->

One schema holds every option. Each can be given as a flag (\`--idle-timeout 30s\`), as an environment
variable (\`TIDEWATCH_IDLE_TIMEOUT=30s\`) or as a key of the TOML file named by \`--config\` (the flag name
without dashes: \`idle-timeout = "30s"\`). Precedence: defaults < TOML file < environment < flags.
The result is validated once and frozen; an unknown key, flag or variable, or a bad value, stops the
start with one line that names the fix, for example:

\`\`\`
tidewatch: bad value for --idle-timeout: "soon" is not a duration: write 30s, 5m, 1h or 2d
tidewatch: unknown key "bufsiz" in /etc/tidewatch.toml: did you mean "bufsize"?
\`\`\`

Example \`/etc/tidewatch.toml\`:

\`\`\`toml
listen = "tproxy"
capture = "eth0"
tcp-ports = "1-65535"
exclude-ports = "22,8339"
bufsize = "16KiB"
block = "dry-run"
allow = ["203.0.113.0/24"]
\`\`\`

| flag | environment | type | default | meaning |
|---|---|---|---|---|
${rows.join('\n')}
`;
}
