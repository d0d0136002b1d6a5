// strftime for output file names, always in UTC. Written by hand because file names need only a dozen
// conversions and the npm packages format in local time by default (a mistake tcppc-go made: -z applied to
// names but not to timestamps). Unknown conversions are kept literally so a typo shows in the file name.
const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function strftime(pattern: string, ms: number = Date.now()): string {
  const d = new Date(ms);
  return pattern.replace(/%([a-zA-Z%])/g, (all, c: string) => {
    switch (c) {
      case 'Y':
        return String(d.getUTCFullYear());
      case 'y':
        return pad(d.getUTCFullYear() % 100);
      case 'm':
        return pad(d.getUTCMonth() + 1);
      case 'd':
        return pad(d.getUTCDate());
      case 'H':
        return pad(d.getUTCHours());
      case 'M':
        return pad(d.getUTCMinutes());
      case 'S':
        return pad(d.getUTCSeconds());
      case 'j': {
        const start = Date.UTC(d.getUTCFullYear(), 0, 1);
        return pad(Math.floor((ms - start) / 86_400_000) + 1, 3);
      }
      case 'b':
        return MONTHS[d.getUTCMonth()]!;
      case 's':
        return String(Math.floor(ms / 1000));
      case 'F':
        return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
      case 'T':
        return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
      case '%':
        return '%';
      default:
        return all;
    }
  });
}
