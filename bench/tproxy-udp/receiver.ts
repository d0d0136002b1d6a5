// Receiver side of bench/tproxy-udp, run inside the sensor namespace:
//   receiver.js tproxy PORT   transparent UDP socket + tidewatch's TPROXY rules (original destination)
//   receiver.js dgram PORT    plain node:dgram socket bound to PORT (source only: what Node offers)
// Both build one record object per datagram (addresses, ports, a copy of the kept bytes), as the listener
// does. Prints {"ready":true}, then, 1 s after the last datagram (or at 60 s), one JSON line of figures.
import { createSocket } from 'node:dgram';
import { buildPlan, installTproxy } from '../../src/firewall/tproxy.js';
import { startUdpReceiver, transparentUdpSocket } from '../../src/listen/transparent-addon.js';

const [mode = 'tproxy', portArg = '39999'] = process.argv.slice(2);
const port = Number(portArg);
const KEEP = 8192;
let received = 0;
let bytes = 0;
let batches = 0;
let wrongDst = 0;
let first = 0;
let last = 0;
let cpu0 = process.cpuUsage();

const seen = (n: number): void => {
  const t = performance.now();
  if (!received) {
    first = t;
    cpu0 = process.cpuUsage();
  }
  received += n;
  last = t;
};

let close: () => Promise<void>;
if (mode === 'tproxy') {
  const fd = transparentUdpSocket(4, '0.0.0.0', port);
  const rx = startUdpReceiver(fd, { keep: KEEP }, (batch) => {
    batches++;
    for (const d of batch) {
      bytes += d.data.length;
      if (!d.dst.startsWith('198.18.1.') || d.dport === 0) wrongDst++;
    }
    seen(batch.length);
  });
  const rules = await installTproxy(
    buildPlan(
      { tproxyPort: port, tproxyIface: [], tproxyDst: [], sshPort: 22, excludePorts: [], http: 'off' },
      { tcp: [], udp: [] },
      [4],
    ),
  );
  close = async () => {
    await rules.close();
    rx.close();
  };
} else {
  const sock = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  sock.on('message', (msg, rinfo) => {
    batches++;
    const rec = { src: rinfo.address, sport: rinfo.port, data: Buffer.from(msg.subarray(0, KEEP)) };
    bytes += rec.data.length;
    seen(1);
  });
  await new Promise<void>((r) => sock.bind(port, '0.0.0.0', r));
  close = () => new Promise<void>((r) => sock.close(() => r()));
}
process.stdout.write('{"ready":true}\n');
const started = performance.now();
const timer = setInterval(() => {
  const t = performance.now();
  if ((received && t - last > 1000) || t - started > 60_000) {
    clearInterval(timer);
    const cpu = process.cpuUsage(cpu0);
    void close().then(() => {
      const secs = (last - first) / 1000;
      process.stdout.write(
        JSON.stringify({
          mode,
          received,
          bytes,
          wrongDst,
          perSecond: secs > 0 ? Math.round(received / secs) : 0,
          cpuUsPerDatagram: received ? (cpu.user + cpu.system) / received : 0,
          perBatch: batches ? received / batches : 0,
        }) + '\n',
      );
      process.exit(0);
    });
  }
}, 100);
