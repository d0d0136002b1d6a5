// A scratch ClickHouse for bench/fleet that outlives one run, so the 100-million-session database is filled
// once and queried as often as needed: prints `--server HTTP_PORT,TCP_PORT` for run.js and stops (removing
// its data) on SIGINT or SIGTERM.
// Usage: node dist/bench/fleet/server.js &   then   node dist/bench/fleet/run.js --server HTTP,TCP ...
import { startClickHouse } from '../../test/helpers/clickhouse.js';

const server = await startClickHouse();
console.log(`--server ${server.httpPort},${server.tcpPort}   (data in ${server.dir})`);
const keepAlive = setInterval(() => {}, 60_000);
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    clearInterval(keepAlive);
    void server.stop().then(() => process.exit(0));
  });
