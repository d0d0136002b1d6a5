// Built-in banners: each persona picks one from a set of real-looking ones by a hash of --sensor, so two
// sensors rarely look alike while one sensor looks the same across restarts. No string names tidewatch.
import { createHash } from 'node:crypto';
import type { PersonaName, PersonaText } from './types.js';

const HOSTNAMES = [
  'srv01',
  'web-prod-2',
  'ubuntu',
  'debian',
  'nas',
  'gw-office',
  'app3',
  'mail',
  'db1',
  'vps',
];

/** Server-first texts per persona; `{host}` is replaced by the picked host name. */
const BANNERS: Record<PersonaName, readonly string[]> = {
  ssh: [
    'OpenSSH_8.9p1 Ubuntu-3ubuntu0.10',
    'OpenSSH_9.2p1 Debian-2+deb12u3',
    'OpenSSH_8.4p1 Debian-5+deb11u3',
    'OpenSSH_7.4',
    'OpenSSH_9.6p1 Ubuntu-3ubuntu13.5',
  ],
  telnet: [
    '\r\n{host} login: ',
    '\r\nUbuntu 20.04.6 LTS\r\n{host} login: ',
    '\r\nBusyBox on {host}\r\n{host} login: ',
  ],
  ftp: [
    '220 (vsFTPd 3.0.3)',
    '220 ProFTPD 1.3.8 Server ({host}) [{host}]',
    '220---------- Welcome to Pure-FTPd [privsep] [TLS] ----------\r\n220-You are user number 1 of 50 allowed.\r\n220 This is a private system - No anonymous login',
    '220 Microsoft FTP Service',
  ],
  smtp: [
    '220 {host}.localdomain ESMTP Postfix (Ubuntu)',
    '220 {host}.localdomain ESMTP Postfix (Debian/GNU)',
    '220 {host} ESMTP Exim 4.96 Ubuntu',
    '220 {host}.localdomain ESMTP Sendmail 8.15.2/8.15.2',
  ],
  pop3: ['+OK Dovecot (Ubuntu) ready.', '+OK Dovecot (Debian) ready.', '+OK POP3 server ready'],
  imap: [
    '* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN] Dovecot (Ubuntu) ready.',
    '* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN] Dovecot (Debian) ready.',
  ],
  http: [
    'nginx/1.18.0 (Ubuntu)',
    'Apache/2.4.41 (Ubuntu)',
    'nginx',
    'Apache/2.4.57 (Debian)',
    'lighttpd/1.4.59',
  ],
  mysql: ['5.7.42-log', '8.0.36-0ubuntu0.22.04.1', '5.5.5-10.6.16-MariaDB-0ubuntu0.22.04.1', '8.0.33'],
  redis: ['6.0.16', '7.0.15', '5.0.7', '7.2.4'],
  vnc: ['RFB 003.008', 'RFB 003.008', 'RFB 003.007'],
  mqtt: ['mosquitto'],
};

const BODIES = [
  '<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n<body>\n<h1>Welcome to nginx!</h1>\n<p>If you see this page, the nginx web server is successfully installed and\nworking. Further configuration is required.</p>\n</body>\n</html>\n',
  '<html><body><h1>It works!</h1></body></html>\n',
  '<!DOCTYPE html>\n<html><head><title>Login</title></head><body><form method="post" action="/login"><input name="username"><input name="password" type="password"><button>Sign in</button></form></body></html>\n',
];

/** A stable index in [0, n) from the sensor id and a purpose. */
export function pick(sensor: string, purpose: string, n: number): number {
  return createHash('sha256').update(`${sensor}\0${purpose}`).digest().readUInt32BE(0) % n;
}

/** The built-in texts of one persona for this sensor. */
export function builtinText(persona: PersonaName, sensor: string): PersonaText {
  const hostname = HOSTNAMES[pick(sensor, 'hostname', HOSTNAMES.length)]!;
  const banners = BANNERS[persona];
  const banner = banners[pick(sensor, persona, banners.length)]!.replaceAll('{host}', hostname);
  const http = BANNERS.http;
  const server = http[pick(sensor, 'http', http.length)]!;
  // The page goes with the server: nginx's welcome page, Apache's "It works!", else a login form.
  const body = BODIES[server.startsWith('nginx') ? 0 : server.startsWith('Apache') ? 1 : 2]!;
  return { banner, hostname, server, body };
}
