// Parsers for values with units, shared by flags, env and TOML: "30s", "5m", "1h", "1GB", "8KiB", ports and
// HOST:PORT. The loader validates with them; components read parsed parts of a value (the port of --http).
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_BYTES: Record<string, number> = {
  b: 1,
  k: 1000,
  kb: 1000,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gib: 1024 ** 3,
};

/** Duration in ms. A bare number means seconds. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(value);
  if (!m) return undefined;
  return Number(m[1]) * DURATION_MS[(m[2] ?? 's').toLowerCase()]!;
}

/** Size in bytes. A bare number means bytes. */
export function parseSize(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  if (!m) return undefined;
  const mult = SIZE_BYTES[(m[2] || 'b').toLowerCase()];
  return mult === undefined ? undefined : Math.floor(Number(m[1]) * mult);
}

/** Port set from "1-1023,8080,20000-20100". Returns sorted unique ports, or an error message. */
export function parsePorts(value: string | number): number[] | string {
  const ports = new Set<number>();
  const text = String(value).trim();
  if (text === '') return [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) return `"${part.trim()}" is not a port or range (write 22 or 1-1023)`;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 1 || hi > 65535 || lo > hi) return `"${part.trim()}" is outside 1-65535 or reversed`;
    for (let p = lo; p <= hi; p++) ports.add(p);
  }
  return [...ports].sort((a, b) => a - b);
}

/** A sorted port list as ranges: runs of consecutive ports merged ("1-3", "5"). */
export function portRanges(ports: readonly number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < ports.length;) {
    let j = i;
    while (j + 1 < ports.length && ports[j + 1] === ports[j]! + 1) j++;
    out.push(i === j ? String(ports[i]) : `${ports[i]}-${ports[j]}`);
    i = j + 1;
  }
  return out;
}

/** Formats a sorted port list back into compact ranges (for logs: "skipped 1-1023"). */
export function formatPorts(ports: readonly number[]): string {
  return portRanges(ports).join(',');
}

/** "127.0.0.1:8339", "[::1]:8339", "collector.example:5170" → host and port. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (m[1] ?? m[2])!, port };
}

/** The port of --http ("127.0.0.1:8339", "[::1]:9000"), or undefined for "off" or no valid port. */
export function httpPort(http: string): number | undefined {
  return parseHostPort(http)?.port;
}
