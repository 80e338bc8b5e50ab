/**
 * 389 DS / Red Hat DS (and DSEE, which keeps the same layout): replication lives under `cn=mapping tree,cn=config`,
 * one `nsds5Replica` entry per replicated suffix (nsDS5ReplicaType 3 with nsDS5Flags 1: a supplier; type 2 with
 * flags 1: a hub; type 2 with flags 0: a read-only consumer) and one `nsds5ReplicationAgreement` below it per
 * server it sends changes to (Red Hat Directory Server 12, Configuring and managing replication, chapters 1-3).
 * Conflict entries carry `nsds5ReplConflict` (Red Hat DS 12, "Solving common replication conflicts"); 389 DS 2.x
 * also makes them `ldapsubentry`, hidden from a search whose filter does not name that object class: on 2.3.1 here
 * `(nsds5ReplConflict=*)` with ManageDsaIT found none, `(|(objectClass=ldapsubentry)(nsds5ReplConflict=*))` found
 * them (with the replication keep-alive entries, which carry no nsds5ReplConflict and are left out).
 */
import { dnEquals, formatDn, isWithin, parseDn } from '../formats/dn.js';
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
import { aciName, aciUserDns } from './aci.js';
const CHANGELOG_DN = 'cn=changelog';
import { RETRO_CHANGELOG_PLUGIN as RETRO_CHANGELOG_PLUGIN_DN, syncUserLimits } from './ds389-sync.js';
import { userPolicyDn } from './ds389-pwpolicy.js';

const MAPPING_TREE_DN = 'cn=mapping tree,cn=config';
/** RFC 3296 ManageDsaIT: 389 DS returns conflict entries to a search that sends it. */
const MANAGE_DSA_IT_OID = '2.16.840.1.113730.3.4.2';
const NONE = '(none)';

/** Replica and agreement entries, the Retro Changelog Plugin, the change log's ACIs, the sync user's limits. */
export class Ds389TopologyReading implements TopologyReading {
  public constructor(private readonly family: string) {}

  public searches(target: PrepareTarget): TopologySearch[] {
    return [
      {
        key: 'replicas',
        base: MAPPING_TREE_DN,
        scope: 'sub',
        filter: '(objectClass=nsds5Replica)',
        attributes: ['nsDS5ReplicaRoot', 'nsDS5ReplicaType', 'nsDS5Flags', 'nsDS5ReplicaId', 'nsDS5ReplicaReferral'],
      },
      {
        key: 'agreements',
        base: MAPPING_TREE_DN,
        scope: 'sub',
        filter: '(objectClass=nsds5ReplicationAgreement)',
        attributes: ['cn', 'nsDS5ReplicaRoot', 'nsDS5ReplicaHost', 'nsDS5ReplicaPort', 'nsds5ReplicaEnabled'],
      },
      {
        key: 'retro',
        base: RETRO_CHANGELOG_PLUGIN_DN,
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: [
          'nsslapd-pluginEnabled',
          'nsslapd-changelogmaxage',
          'nsslapd-include-suffix',
          'nsslapd-exclude-suffix',
          'nsslapd-attribute',
          'nsslapd-log-deleted',
          'isReplicated',
        ],
      },
      { key: 'changelog', base: CHANGELOG_DN, scope: 'base', filter: '(objectClass=*)', attributes: ['aci'] },
      {
        key: 'account',
        base: target.syncUserDn,
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: Object.keys(syncUserLimits(this.family)),
      },
    ];
  }

  public topology(target: PrepareTarget, found: TopologyEntries): ServerTopology {
    const replicas = (found.get('replicas') ?? []).filter((replica) => replicates(replica, target));
    if (replicas.length === 0) return { role: undefined, peers: [], notes: [] };
    const roles = replicas.map(replicaRole);
    // One server may supply one suffix and consume another: it is as writable as its least writable base DN.
    const role: ReplicaRole = roles.includes('consumer') ? 'consumer' : roles.includes('hub') ? 'hub' : 'supplier';
    const notes = replicas.map(
      (replica, index) =>
        `${firstValue(replica, 'nsDS5ReplicaRoot') ?? '?'}: ${roles[index] ?? '?'}, replica id ${firstValue(replica, 'nsDS5ReplicaId') ?? '?'}`,
    );
    const peers: ReplicationPeer[] = [];
    for (const agreement of found.get('agreements') ?? []) {
      if (!replicates(agreement, target)) continue;
      const host = firstValue(agreement, 'nsDS5ReplicaHost');
      const port = Number(firstValue(agreement, 'nsDS5ReplicaPort') ?? '389');
      if (host === undefined || !Number.isInteger(port)) continue;
      peers.push({ host, port, via: `agreement '${firstValue(agreement, 'cn') ?? agreement.dn}'` });
      if (/^off$/i.test(firstValue(agreement, 'nsds5ReplicaEnabled') ?? 'on')) {
        notes.push(
          `agreement '${firstValue(agreement, 'cn') ?? agreement.dn}' to ${host}:${port} is paused (nsds5ReplicaEnabled: off)`,
        );
      }
    }
    // A consumer (or hub) names the suppliers that feed it in its referrals.
    for (const replica of replicas) {
      for (const url of valuesOf(replica, 'nsDS5ReplicaReferral')) {
        const address = /^ldaps?:\/\/([^:/]+)(?::(\d+))?/i.exec(url);
        if (address?.[1] === undefined) continue;
        peers.push({
          host: address[1],
          port: Number(address[2] ?? (/^ldaps/i.test(url) ? '636' : '389')),
          role: 'supplier',
          via: `referral ${url}`,
        });
      }
    }
    return { role, peers, notes };
  }

  public failoverFacts(target: PrepareTarget, found: TopologyEntries): FailoverFacts {
    const retro = found.get('retro')?.[0];
    const changelogAcis = valuesOf(found.get('changelog')?.[0], 'aci').filter(
      (aci) => aciName(aci) !== undefined && aciUserDns(aci).some((dn) => dnEquals(dn, target.syncUserDn)),
    );
    const account = found.get('account')?.[0];
    const facts: Record<string, string> = {
      'change log (Retro Changelog Plugin)': firstValue(retro, 'nsslapd-pluginEnabled') ?? NONE,
      'change log maximum age (nsslapd-changelogmaxage)': firstValue(retro, 'nsslapd-changelogmaxage') ?? NONE,
      'change log scope (nsslapd-include-suffix)': sorted(valuesOf(retro, 'nsslapd-include-suffix')),
      'change log exclusions (nsslapd-exclude-suffix)': sorted(valuesOf(retro, 'nsslapd-exclude-suffix')),
      'recorded attributes: entry ids and deleted entries (nsslapd-attribute)': sorted(
        valuesOf(retro, 'nsslapd-attribute'),
      ),
      'deleted entries logged (nsslapd-log-deleted)': firstValue(retro, 'nsslapd-log-deleted') ?? NONE,
      "sync user's ACIs on cn=changelog": sorted(changelogAcis.map((aci) => aci.replace(/\s+/g, ' '))),
    };
    for (const name of Object.keys(syncUserLimits(this.family))) {
      facts[`sync user's limit ${name}`] = firstValue(account, name) ?? NONE;
    }
    return facts;
  }

  public conflictSearches(target: PrepareTarget): TopologySearch[] {
    return target.baseDns.map((base, index) => ({
      key: `conflicts-${index}`,
      base,
      scope: 'sub' as const,
      filter: '(|(objectClass=ldapsubentry)(nsds5ReplConflict=*))',
      attributes: ['objectClass', 'description', 'nsds5ReplConflict'],
      controls: [{ oid: MANAGE_DSA_IT_OID, critical: false }],
    }));
  }

  public conflicts(target: PrepareTarget, found: TopologyEntries): readonly Entry[] {
    const entries = target.baseDns.flatMap((_, index) => found.get(`conflicts-${index}`) ?? []);
    return entries.filter((entry) => valuesOf(entry, 'nsds5ReplConflict').length > 0);
  }

  public isOwnConflict(target: PrepareTarget, entry: Entry): boolean {
    return dnEquals(withoutUniqueId(entry.dn), userPolicyDn(target.syncUserDn));
  }
}

/** The DN a conflict copy was added as: 389 DS names the copy `<rdn>+nsuniqueid=<id>,<parent>`. */
function withoutUniqueId(dn: string): string {
  try {
    const [first, ...rest] = parseDn(dn);
    if (first === undefined) return dn;
    const kept = first.filter((ava) => ava.type.toLowerCase() !== 'nsuniqueid');
    return kept.length === 0 ? dn : formatDn([kept, ...rest]);
  } catch {
    return dn;
  }
}

function replicates(entry: Entry, target: PrepareTarget): boolean {
  const root = firstValue(entry, 'nsDS5ReplicaRoot');
  return root !== undefined && target.baseDns.some((base) => isWithin(base, root) || isWithin(root, base));
}

function replicaRole(replica: Entry): ReplicaRole {
  const type = firstValue(replica, 'nsDS5ReplicaType');
  const flags = firstValue(replica, 'nsDS5Flags');
  if (type === '3') return 'supplier';
  return flags === '1' ? 'hub' : 'consumer';
}

function sorted(values: readonly string[]): string {
  return values.length === 0
    ? NONE
    : [...values]
        .map((v) => v.trim())
        .sort()
        .join(' | ');
}
