/**
 * PingDS, ForgeRock DS, OpenDJ and OUD: replication is configured under the Multimaster Synchronization provider:
 * one `ds-cfg-replication-domain` per replicated base DN (`ds-cfg-base-dn`, `ds-cfg-server-id`, the replication
 * servers it connects to in `ds-cfg-replication-server` or PingDS's `ds-cfg-bootstrap-replication-server`), and on
 * a replication server `cn=replication server` with its own list (PingDS 8 configuration reference,
 * "Replication Domain" and "Replication Server"). Those lists name replication ports, not LDAP ports, so the other
 * servers are said in the notes and not offered as `--replica` values. The emulators show one domain and no
 * other server.
 */
import { isWithin } from '../formats/dn.js';
import { firstValue, valuesOf, type Entry } from '../model/entries.js';
import type { PrepareTarget } from '../model/plan.js';
import type {
  FailoverFacts,
  ServerTopology,
  TopologyEntries,
  TopologyReading,
  TopologySearch,
} from '../model/topology.js';

const PROVIDER_DN = 'cn=Multimaster Synchronization,cn=Synchronization Providers,cn=config';
const NONE = '(none)';

export class OpenDjTopologyReading implements TopologyReading {
  public searches(): TopologySearch[] {
    return [
      {
        key: 'replication',
        base: PROVIDER_DN,
        scope: 'sub',
        filter: '(|(objectClass=ds-cfg-replication-domain)(objectClass=ds-cfg-replication-server))',
        attributes: [
          'objectClass',
          'ds-cfg-base-dn',
          'ds-cfg-server-id',
          'ds-cfg-replication-server',
          'ds-cfg-bootstrap-replication-server',
          'ds-cfg-replication-port',
          'ds-cfg-changelog-enabled',
          'ds-cfg-compute-change-number',
          'ds-cfg-replication-purge-delay',
          'ds-cfg-ecl-include-for-deletes',
        ],
      },
    ];
  }

  public topology(target: PrepareTarget, found: TopologyEntries): ServerTopology {
    const entries = found.get('replication') ?? [];
    const domains = entries.filter(
      (e) =>
        hasClass(e, 'ds-cfg-replication-domain') &&
        valuesOf(e, 'ds-cfg-base-dn').some((dn) => target.baseDns.some((base) => isWithin(base, dn))),
    );
    if (domains.length === 0) return { role: undefined, peers: [], notes: [] };
    const notes = domains.map(
      (d) =>
        `${firstValue(d, 'ds-cfg-base-dn') ?? d.dn}: replicated, server id ${firstValue(d, 'ds-cfg-server-id') ?? '?'}`,
    );
    const replicationServers = [
      ...new Set(
        entries.flatMap((e) => [
          ...valuesOf(e, 'ds-cfg-replication-server'),
          ...valuesOf(e, 'ds-cfg-bootstrap-replication-server'),
        ]),
      ),
    ];
    notes.push(
      replicationServers.length === 0
        ? 'no other replication server is named in this server configuration'
        : `replication servers (replication ports, not LDAP ports): ${replicationServers.join(', ')}; name their LDAP ports with --replica`,
    );
    return { role: 'supplier', peers: [], notes };
  }

  public failoverFacts(_target: PrepareTarget, found: TopologyEntries): FailoverFacts {
    const entries = found.get('replication') ?? [];
    const server = entries.find((e) => hasClass(e, 'ds-cfg-replication-server'));
    const domains = entries.filter((e) => hasClass(e, 'ds-cfg-replication-domain'));
    return {
      'change log mode (ds-cfg-changelog-enabled)': firstValue(server, 'ds-cfg-changelog-enabled') ?? NONE,
      'change numbers (ds-cfg-compute-change-number)': firstValue(server, 'ds-cfg-compute-change-number') ?? NONE,
      'change log maximum age (ds-cfg-replication-purge-delay)':
        firstValue(server, 'ds-cfg-replication-purge-delay') ?? NONE,
      'deleted entry attributes (ds-cfg-ecl-include-for-deletes)':
        domains
          .flatMap((d) => valuesOf(d, 'ds-cfg-ecl-include-for-deletes'))
          .sort()
          .join(' | ') || NONE,
    };
  }
}

function hasClass(entry: Entry, name: string): boolean {
  return valuesOf(entry, 'objectClass').some((c) => c.toLowerCase() === name.toLowerCase());
}
