// The fleet store for `tidewatch serve`: the ClickHouse QueryStore behind the dashboard and API. It checks
// the server answers and brings the schema to this version at start, so the first page never meets a
// missing table.
import type { SensorContext } from '../../core/context.js';
import { TidewatchError } from '../../core/errors.js';
import { component, type Component } from '../../core/lifecycle.js';
import type { QueryStore } from '../query.js';
import { openClient, parseClickHouseUrl, redacted } from './client.js';
import { ClickHouseQueryStore } from './queries.js';
import { migrate } from './schema.js';

export interface FleetStoreComponent extends Component {
  readonly query: QueryStore;
}

export async function openClickHouseStore(ctx: SensorContext): Promise<FleetStoreComponent> {
  const { cfg } = ctx;
  const log = ctx.log.child({ component: 'clickhouse-store' });
  const target = parseClickHouseUrl(cfg.clickhouse, cfg.clickhousePassword);
  const ch = openClient(target);
  try {
    const m = await migrate(ch, target.database);
    if (m.from !== m.to) log.info(m, 'ClickHouse schema migrated');
  } catch (err) {
    await ch.close();
    if (err instanceof TidewatchError) throw err;
    throw new TidewatchError(
      'TW_ERR_CLICKHOUSE',
      `cannot use ClickHouse at ${redacted(target)}: ${(err as Error).message} (check --clickhouse and that the server answers)`,
      { cause: err },
    );
  }
  log.info({ clickhouse: redacted(target) }, 'fleet store on ClickHouse');
  const query = new ClickHouseQueryStore(ch, target.database);
  return Object.assign(
    component(
      'clickhouse-store',
      () => ch.close(),
      () => void ch.close(),
    ),
    { query },
  );
}
