// The intel stage: an annotator on the event bus, subscribed after enrich and before every sink (sensor.ts).
// Session events come out with app, http, tags (rule tags and benign:<org>), cves, rules, iocs and
// signature; scan events from benign sources carry benign:<org>. Rules are the shipped rules/ plus --rules
// DIR; SIGHUP reloads them, and a set with a bad rule is refused (the old one stays).
import type { SensorContext } from '../core/context.js';
import type { SessionEvent, Tag } from '../core/events.js';
import { component, type Component } from '../core/lifecycle.js';
import { joinPayload } from '../core/payload.js';
import { BenignList } from './benign.js';
import { classify } from './classify.js';
import { shippedFile } from './paths.js';
import { joinRuleSets, loadRuleDir } from './rule-file.js';
import type { Rule } from './rules.js';

/** The shipped rules plus a user directory (empty: none). Throws a RuleError naming file, id and fix. */
export function loadRules(userDir: string): Rule[] {
  return joinRuleSets([loadRuleDir(shippedFile('rules')), userDir ? loadRuleDir(userDir) : []]);
}

export interface IntelStage extends Component {
  /** The benign organisation of a source, if its address is in a published research-scanner range. */
  benignOrg(ip: string): string | undefined;
  /** True when scans from this source must never alert nor be blocked (--benign-scanners ignore). */
  ignored(ip: string): boolean;
  /** The rule set in force (tests, bench). */
  readonly rules: readonly Rule[];
}

const ruleTag = (name: string): Tag => ({ name, confidence: 1 });

function addTags(ev: { tags?: Tag[] }, names: readonly string[]): void {
  if (names.length === 0) return;
  const tags = ev.tags ? [...ev.tags] : [];
  for (const n of names) if (!tags.some((t) => t.name === n)) tags.push(ruleTag(n));
  ev.tags = tags;
}

/** Completes one session event in place with its intelligence. */
function annotateSession(
  ev: SessionEvent,
  rules: readonly Rule[],
  benignOrg: (ip: string) => string | undefined,
  maxBytes: number,
  stats: SensorContext['stats'],
): void {
  const payload = joinPayload(ev.payloads, maxBytes);
  const intel = classify({ proto: ev.proto, dport: ev.dport, payload, commands: ev.commands }, rules);
  ev.app = intel.app;
  if (!ev.http?.length && intel.http.length) ev.http = intel.http;
  if (intel.rules.length) {
    ev.rules = intel.rules;
    ev.cves = intel.cves;
    stats.inc('intel_rule_hits_total');
  }
  if (intel.iocs) {
    ev.iocs = intel.iocs;
    stats.inc('intel_iocs_total', intel.iocs.urls.length);
  }
  if (intel.signature) ev.signature = intel.signature;
  const org = benignOrg(ev.src);
  addTags(ev, org ? [...intel.tags, `benign:${org}`] : intel.tags);
}

export async function startIntel(ctx: SensorContext): Promise<IntelStage> {
  const { cfg, bus, stats } = ctx;
  const log = ctx.log.child({ component: 'intel' });
  let rules = loadRules(cfg.rules);
  const benign = BenignList.load(cfg.benignList);
  log.info({ rules: rules.length, benign_ranges: benign.size }, 'intel loaded');

  const benignOrg = (ip: string): string | undefined => benign.orgOf(ip);
  const annotate = (ev: SessionEvent): void => annotateSession(ev, rules, benignOrg, cfg.bufsize, stats);
  const offs = [
    bus.on('session', (ev) => {
      try {
        annotate(ev);
      } catch (err) {
        // A bug here must never cost the session: it is written without intel, and counted.
        stats.inc('intel_errors_total');
        log.error({ err }, 'intel failed on a session');
      }
    }),
    bus.on('scan', (ev) => {
      const org = benignOrg(ev.src);
      if (org) addTags(ev, [`benign:${org}`]);
    }),
  ];
  const stop = (): void => {
    for (const off of offs) off();
  };
  const base = component('intel', async () => stop(), stop);
  return {
    ...base,
    benignOrg,
    ignored: (ip) => cfg.benignScanners === 'ignore' && benignOrg(ip) !== undefined,
    get rules() {
      return rules;
    },
    reopen() {
      try {
        rules = loadRules(cfg.rules);
        log.info({ rules: rules.length }, 'rules reloaded');
      } catch (err) {
        stats.inc('intel_rule_reload_errors_total');
        log.error(`rules not reloaded, the old set stays: ${(err as Error).message}`);
      }
    },
  };
}
