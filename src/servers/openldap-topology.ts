/**
 * OpenLDAP: a database replicates when it has `olcSyncrepl` (it consumes from each `provider=`); with
 * `olcMultiProvider: TRUE` (olcMirrorMode before 2.5) it also takes writes and provides them back, otherwise it
 * is a read-only consumer that refers writes to `olcUpdateRef` (slapd-config(5), "Replication" in the OpenLDAP
 * 2.5/2.6 Administrator's Guide, chapter 18). The syncprov overlay alone makes a provider whose consumers it does
 * not name. syncrepl makes no conflict entries: a duplicate this tool could leave is in cn=config (two access
 * rules or overlays), which the profile's settling already removes, so no conflict search is made here.
 */
import { dnEquals, isWithin } from '../formats/dn.js';
import { firstValue, valuesOf, type Entry } from '../model/entries.js';
import type { PrepareTarget } from '../model/plan.js';
import type {
  FailoverFacts,
  ReplicaRole,
  ReplicationPeer,
  ServerTopology,
  TopologyEntries,
  TopologyReading,
  TopologySearch,
} from '../model/topology.js';

const NONE = '(none)';

export class OpenLdapTopologyReading implements TopologyReading {
  public searches(): TopologySearch[] {
    return [
      {
        key: 'config',
        base: 'cn=config',
        scope: 'sub',
        filter: '(|(objectClass=olcDatabaseConfig)(objectClass=olcOverlayConfig))',
        attributes: [
          'objectClass',
          'olcDatabase',
          'olcSuffix',
          'olcSyncrepl',
          'olcMultiProvider',
          'olcMirrorMode',
          'olcUpdateRef',
          'olcAccess',
          'olcLimits',
          'olcOverlay',
          'olcAccessLogDB',
          'olcAccessLogOps',
          'olcAccessLogPurge',
          'olcAccessLogOld',
          'olcAccessLogOldAttr',
          'olcAccessLogSuccess',
        ],
      },
      { key: 'server', base: 'cn=config', scope: 'base', filter: '(objectClass=*)', attributes: ['olcServerID'] },
    ];
  }

  public topology(target: PrepareTarget, found: TopologyEntries): ServerTopology {
    const databases = dataDatabases(target, found);
    const overlays = (found.get('config') ?? []).filter((e) => valuesOf(e, 'olcOverlay').length > 0);
    const roles: ReplicaRole[] = [];
    const peers: ReplicationPeer[] = [];
    const notes: string[] = [];
    for (const database of databases) {
      const syncrepl = valuesOf(database, 'olcSyncrepl');
      const multi = /^true$/i.test(
        firstValue(database, 'olcMultiProvider') ?? firstValue(database, 'olcMirrorMode') ?? '',
      );
      const provides = overlays.some(
        (o) => isChildOf(o, database) && /syncprov$/i.test(firstValue(o, 'olcOverlay') ?? ''),
      );
      const suffix = firstValue(database, 'olcSuffix') ?? database.dn;
      if (syncrepl.length === 0 && !provides) continue;
      const role: ReplicaRole = syncrepl.length === 0 || multi ? 'supplier' : 'consumer';
      roles.push(role);
      notes.push(
        `${suffix}: ${role === 'supplier' ? (multi ? 'multi-provider' : 'provider (syncprov)') : 'read-only consumer'}` +
          (syncrepl.length > 0 ? `, ${syncrepl.length} syncrepl` : ''),
      );
      for (const value of syncrepl) {
        const provider = /provider=(ldaps?):\/\/([^:/\s"]+)(?::(\d+))?/i.exec(value);
        if (provider?.[2] === undefined) continue;
        const rid = /rid=(\d+)/i.exec(value)?.[1];
        peers.push({
          host: provider[2],
          port: Number(provider[3] ?? (provider[1]?.toLowerCase() === 'ldaps' ? '636' : '389')),
          role: 'supplier',
          via: `olcSyncrepl rid=${rid ?? '?'} of ${suffix}`,
        });
      }
      for (const url of valuesOf(database, 'olcUpdateRef')) {
        const address = /^(ldaps?):\/\/([^:/]+)(?::(\d+))?/i.exec(url.trim());
        if (address?.[2] === undefined) continue;
        peers.push({
          host: address[2],
          port: Number(address[3] ?? (address[1]?.toLowerCase() === 'ldaps' ? '636' : '389')),
          role: 'supplier',
          via: `olcUpdateRef of ${suffix}`,
        });
      }
    }
    if (roles.length === 0) return { role: undefined, peers: [], notes: [] };
    return { role: roles.includes('consumer') ? 'consumer' : 'supplier', peers: unique(peers), notes };
  }

  public failoverFacts(target: PrepareTarget, found: TopologyEntries): FailoverFacts {
    const config = found.get('config') ?? [];
    const databases = dataDatabases(target, found);
    const overlays = config.filter((e) => valuesOf(e, 'olcOverlay').length > 0);
    const accesslog = overlays.filter(
      (o) => databases.some((d) => isChildOf(o, d)) && /accesslog$/i.test(firstValue(o, 'olcOverlay') ?? ''),
    );
    const logDatabases = config.filter((e) =>
      accesslog.some((o) => valuesOf(e, 'olcSuffix').some((s) => dnEquals(s, firstValue(o, 'olcAccessLogDB') ?? ''))),
    );
    const first = accesslog[0];
    const mentionsSyncUser = (value: string): boolean => value.toLowerCase().includes(target.syncUserDn.toLowerCase());
    const rules = (entries: readonly Entry[], attribute: string): string =>
      sorted(
        entries
          .flatMap((e) => valuesOf(e, attribute))
          .filter(mentionsSyncUser)
          .map(withoutIndex),
      );
    return {
      'change log (accesslog overlay)': accesslog.length > 0 ? 'on' : 'off',
      'change log operations (olcAccessLogOps)': sorted(valuesOf(first, 'olcAccessLogOps')),
      'change log maximum age (olcAccessLogPurge)': firstValue(first, 'olcAccessLogPurge') ?? NONE,
      'deleted entries kept (olcAccessLogOld)': firstValue(first, 'olcAccessLogOld') ?? NONE,
      'deleted entry attributes (olcAccessLogOldAttr)': sorted(valuesOf(first, 'olcAccessLogOldAttr')),
      'change log scope (databases with the overlay)': sorted(
        databases.filter((d) => accesslog.some((o) => isChildOf(o, d))).flatMap((d) => valuesOf(d, 'olcSuffix')),
      ),
      "sync user's access rules (olcAccess)": rules([...databases, ...logDatabases], 'olcAccess'),
      "sync user's limits (olcLimits)": rules([...databases, ...logDatabases], 'olcLimits'),
    };
  }
}

/** The databases that hold the base DNs. */
function dataDatabases(target: PrepareTarget, found: TopologyEntries): Entry[] {
  return (found.get('config') ?? []).filter((e) =>
    valuesOf(e, 'olcSuffix').some((suffix) => target.baseDns.some((base) => isWithin(base, suffix))),
  );
}

function isChildOf(overlay: Entry, database: Entry): boolean {
  return overlay.dn.toLowerCase().endsWith(`,${database.dn.toLowerCase()}`);
}

function withoutIndex(value: string): string {
  return value
    .replace(/^\{\d+\}/, '')
    .replace(/\s+/g, ' ')
    .trim();
}

function sorted(values: readonly string[]): string {
  return values.length === 0
    ? NONE
    : [...values]
        .map((v) => v.trim())
        .sort()
        .join(' | ');
}

function unique(peers: readonly ReplicationPeer[]): ReplicationPeer[] {
  const seen = new Set<string>();
  return peers.filter((peer) => {
    const key = `${peer.host.toLowerCase()}:${peer.port}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
