// IOC extraction: what a dropper would fetch, pulled out of payloads, commands and HTTP requests. URLs with a
// scheme (http, https, ftp, tftp), the wget/curl/tftp/ftpget command forms without one, and their hosts;
// one level of `base64 -d` and `echo -e '\x..'` decoding. Pure text work in linear passes: nothing is ever
// fetched or resolved.
import { decodeHexEscapes } from './decode.js';

export interface Iocs {
  urls: string[];
  hosts: string[];
}

export const MAX_IOC_URLS = 32;
export const MAX_IOC_HOSTS = 32;
export const MAX_URL_LENGTH = 512;
/** Text looked at per session, decoded layers included. */
export const MAX_IOC_TEXT = 64 * 1024;
const MAX_DECODED_BLOBS = 4;

// ldap and rmi: what a JNDI lookup (Log4Shell) fetches its class from.
const SCHEMES = ['http://', 'https://', 'ftp://', 'tftp://', 'ldap://', 'ldaps://', 'rmi://'];
/** Hosts of XML namespaces and SOAP action names: identifiers in exploit bodies, never fetched. */
const NAMESPACE_HOSTS = new Set([
  'schemas.xmlsoap.org',
  'www.w3.org',
  'schemas.microsoft.com',
  'purenetworks.com',
  'bea.com',
  'www.bea.com',
  'schemas.upnp.org',
]);
const FETCHERS = new Set(['wget', 'curl', 'tftp', 'ftpget', 'busybox']);

/** Characters that end a URL or a command word (shell syntax, quotes, brackets, controls). */
function isStop(c: number): boolean {
  return (
    c <= 0x20 ||
    c >= 0x7f ||
    c === 0x22 || // "
    c === 0x27 || // '
    c === 0x60 || // `
    c === 0x3b || // ;
    c === 0x7c || // |
    c === 0x26 || // &
    c === 0x3c || // <
    c === 0x3e || // >
    c === 0x28 || // (
    c === 0x29 || // )
    c === 0x7b || // {
    c === 0x7d || // }
    c === 0x5c // \
  );
}

class Collector {
  readonly urls = new Set<string>();
  readonly hosts = new Set<string>();

  /** At MAX_IOC_URLS nothing more is taken: scanning further is wasted work. */
  get full(): boolean {
    return this.urls.size >= MAX_IOC_URLS;
  }

  addUrl(url: string): void {
    if (url.length > MAX_URL_LENGTH || this.urls.size >= MAX_IOC_URLS) return;
    const host = hostOf(url);
    if (!host || NAMESPACE_HOSTS.has(host)) return;
    this.urls.add(url);
    if (this.hosts.size < MAX_IOC_HOSTS) this.hosts.add(host);
  }
}

/** The host of scheme://[user@]host[:port]/…, lowercased; undefined when it is not a plausible host. */
export function hostOf(url: string): string | undefined {
  const start = url.indexOf('://') + 3;
  let end = start;
  while (end < url.length && url[end] !== '/' && url[end] !== '?' && url[end] !== '#') end++;
  let auth = url.slice(start, end);
  auth = auth.slice(auth.lastIndexOf('@') + 1);
  if (auth.startsWith('[')) {
    const close = auth.indexOf(']');
    return close > 1 ? auth.slice(1, close).toLowerCase() : undefined;
  }
  const host = auth.split(':')[0]!.toLowerCase();
  return isHostname(host) ? host : undefined;
}

/** A dotted name or IPv4 address: letters, digits, '-' and '.', with a dot, at most 253 chars. */
function isHostname(h: string): boolean {
  if (h.length < 3 || h.length > 253 || !h.includes('.') || h.startsWith('.') || h.endsWith('.'))
    return false;
  for (let i = 0; i < h.length; i++) {
    const c = h.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 46)) return false;
  }
  return true;
}

/** URLs with a scheme, found by indexOf on a lowercased copy (same length: latin1 text). */
function scanUrls(text: string, out: Collector): void {
  const lower = text.toLowerCase();
  for (const scheme of SCHEMES) {
    for (let i = lower.indexOf(scheme); i >= 0 && !out.full; i = lower.indexOf(scheme, i + scheme.length)) {
      // tftp:// contains ftp://: take it at its own start only.
      if (scheme === 'ftp://' && i > 0 && lower[i - 1] === 't') continue;
      let end = i + scheme.length;
      const max = Math.min(text.length, i + MAX_URL_LENGTH + 1);
      while (end < max && !isStop(text.charCodeAt(end))) end++;
      if (end > i + scheme.length) out.addUrl(text.slice(i, end));
    }
  }
}

/** Shell words split at blanks and shell separators (quotes dropped). */
function words(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x27 || c === 0x22) continue;
    if (isStop(c) && c !== 0x5c) {
      if (cur) out.push(cur);
      cur = '';
      if (c === 0x3b || c === 0x7c || c === 0x26 || c === 0x0a) out.push(';');
    } else cur += text[i];
  }
  if (cur) out.push(cur);
  return out;
}

const hasScheme = (w: string): boolean => SCHEMES.some((s) => w.toLowerCase().startsWith(s));

/** Options of the fetchers that take a value (the value is not a URL). */
const VALUE_OPTIONS = new Set([
  '-c',
  '-o',
  '-O',
  '-P',
  '-u',
  '-p',
  '-l',
  '-r',
  '-T',
  '-t',
  '-U',
  '-H',
  '-A',
  '-e',
  '-b',
  '-d',
]);

/** Every fetcher's name holds one of these: a text without any has no command to scan (most payloads). */
const FETCHER_NAMES = ['wget', 'curl', 'tftp', 'ftpget'];

/** wget/curl HOST/PATH, tftp -g -r FILE HOST, ftpget [-u U -p P] HOST LOCAL REMOTE: URLs without a scheme. */
function scanCommands(text: string, out: Collector): void {
  if (!FETCHER_NAMES.some((n) => text.includes(n))) return;
  const w = words(text);
  for (let i = 0; i < w.length && !out.full; i++) {
    let cmd = w[i]!.slice(w[i]!.lastIndexOf('/') + 1);
    let j = i + 1;
    if (cmd === 'busybox' && j < w.length) cmd = w[j++]!;
    if (!FETCHERS.has(cmd) || cmd === 'busybox') continue;
    const opts = new Map<string, string>();
    const args: string[] = [];
    for (; j < w.length && w[j] !== ';' && args.length < 8; j++) {
      const a = w[j]!;
      if (a.startsWith('-') && a.length > 1) {
        if (VALUE_OPTIONS.has(a) && j + 1 < w.length) opts.set(a, w[++j]!);
      } else args.push(a);
    }
    if (cmd === 'tftp') {
      // tftp -g -r FILE HOST (busybox) or tftp HOST -c get FILE (tftp-hpa)
      const file = opts.get('-r') ?? (opts.get('-c') === 'get' ? args[1] : undefined);
      const host = args[0];
      if (file && host && isHostname(host.split(':')[0]!.toLowerCase())) out.addUrl(`tftp://${host}/${file}`);
    } else if (cmd === 'ftpget') {
      const [host, , remote] = args;
      if (host && remote && isHostname(host.toLowerCase())) out.addUrl(`ftp://${host}/${remote}`);
    } else {
      for (const a of args)
        if (!hasScheme(a) && isHostname(a.split(/[/:]/)[0]!.toLowerCase())) out.addUrl(`http://${a}`);
    }
  }
}

const isB64 = (c: number): boolean =>
  (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47 || c === 61;

/** Runs of base64 (16+ chars) in a text that mentions base64, decoded (at most MAX_DECODED_BLOBS). */
function decodeBase64Runs(text: string): string[] {
  if (!text.includes('base64')) return [];
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= text.length && out.length < MAX_DECODED_BLOBS; i++) {
    const inRun = i < text.length && isB64(text.charCodeAt(i));
    if (inRun && start < 0) start = i;
    else if (!inRun && start >= 0) {
      if (i - start >= 16) out.push(Buffer.from(text.slice(start, i), 'base64').toString('latin1'));
      start = -1;
    }
  }
  return out;
}

/** Shell obfuscation that exploits use in place of blanks. */
const unblank = (t: string): string => t.replaceAll('${IFS}', ' ').replaceAll('$IFS', ' ');

/** IOCs in the given texts (latin1 or decoded), with one level of decoding; undefined when none. */
export function extractIocs(texts: readonly string[]): Iocs | undefined {
  const out = new Collector();
  let budget = MAX_IOC_TEXT;
  const scan = (t: string): void => {
    if (budget <= 0 || t.length === 0 || out.full) return;
    const text = unblank(t.length > budget ? t.slice(0, budget) : t);
    budget -= text.length;
    scanUrls(text, out);
    scanCommands(text, out);
  };
  for (const t of texts) {
    scan(t);
    const hex = decodeHexEscapes(t);
    if (hex !== undefined) scan(hex);
    for (const d of decodeBase64Runs(t)) scan(d);
  }
  if (out.urls.size === 0) return undefined;
  return { urls: [...out.urls], hosts: [...out.hosts] };
}
