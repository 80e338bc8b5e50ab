/**
 * Active Directory (Windows, Samba): every domain controller has a server object under
 * `CN=Sites,<configurationNamingContext>` (dNSHostName) with an `nTDSDSA` child, its NTDS Settings; a read-only
 * DC's has `msDS-isRODC: TRUE` ([MS-ADTS] 6.1.1.2.2.1.2.1.1 and 3.1.1.4.5.44). The root DSE's dsServiceName
 * names this DC's own NTDS Settings. Conflicting adds leave the loser renamed `<RDN>\0ACNF:<objectGUID>` in
 * place ([MS-ADTS] 3.1.1.1.13, "Name conflicts"). DirSync, the change tracking a sync uses, needs nothing per DC
 * and resumes on another DC of the domain with the same cookie (MS-ADTS 3.1.1.3.4.1.3), so there is no failover
 * setting to compare.
 */
import { dnEquals, parentDn } from '../formats/dn.js';
import { firstValue, valuesOf, type Entry } from '../model/entries.js';
import type { PrepareTarget } from '../model/plan.js';
import type {
  FailoverFacts,
  ReplicationPeer,
  ServerTopology,
  TopologyEntries,
  TopologyReading,
  TopologySearch,
} from '../model/topology.js';

export class AdTopologyReading implements TopologyReading {
  private readonly configurationNamingContext: string | undefined;

  /** The configuration partition is among the root DSE's namingContexts detection already read. */
  public constructor(rootDse: Entry | undefined) {
    this.configurationNamingContext = valuesOf(rootDse, 'namingContexts').find((nc) => /^CN=Configuration,/i.test(nc));
  }

  public searches(): TopologySearch[] {
    if (this.configurationNamingContext === undefined) return [];
    return [
      { key: 'rootdse', base: '', scope: 'base', filter: '(objectClass=*)', attributes: ['dsServiceName'] },
      {
        key: 'sites',
        base: `CN=Sites,${this.configurationNamingContext}`,
        scope: 'sub',
        filter: '(|(objectClass=server)(objectClass=nTDSDSA))',
        attributes: ['objectClass', 'dNSHostName', 'msDS-isRODC'],
      },
    ];
  }

  public topology(_target: PrepareTarget, found: TopologyEntries): ServerTopology {
    const entries = found.get('sites') ?? [];
    const settings = entries.filter((e) => hasClass(e, 'nTDSDSA'));
    if (settings.length === 0) return { role: undefined, peers: [], notes: [] };
    const isRodc = (ntds: Entry): boolean => /^true$/i.test(firstValue(ntds, 'msDS-isRODC') ?? '');
    const dsServiceName = firstValue(found.get('rootdse')?.[0], 'dsServiceName');
    const self = settings.find((s) => dsServiceName !== undefined && dnEquals(s.dn, dsServiceName));
    const peers: ReplicationPeer[] = [];
    for (const ntds of settings) {
      if (ntds === self) continue;
      const serverDn = parentDn(ntds.dn);
      const server = entries.find((e) => serverDn !== undefined && dnEquals(e.dn, serverDn));
      const host = firstValue(server, 'dNSHostName');
      if (host === undefined) continue;
      peers.push({
        host,
        port: 389,
        role: isRodc(ntds) ? 'consumer' : 'supplier',
        via: `domain controller ${serverDn ?? ntds.dn}`,
      });
    }
    if (peers.length === 0) return { role: undefined, peers: [], notes: [] };
    return {
      role: self !== undefined && isRodc(self) ? 'consumer' : 'supplier',
      peers,
      notes: [`${settings.length} domain controllers in the configuration partition (peers named on port 389)`],
    };
  }

  public failoverFacts(): FailoverFacts {
    return {};
  }

  public conflictSearches(target: PrepareTarget): TopologySearch[] {
    const bases = [parentDn(target.syncUserDn) ?? target.syncUserDn, ...target.baseDns];
    return bases.map((base, index) => ({
      key: `conflicts-${index}`,
      base,
      scope: 'sub' as const,
      filter: '(cn=*CNF:*)',
      attributes: ['objectClass', 'description', 'cn'],
    }));
  }

  public conflicts(target: PrepareTarget, found: TopologyEntries): readonly Entry[] {
    const seen = new Set<string>();
    const bases = target.baseDns.length + 1;
    const entries: Entry[] = [];
    for (let index = 0; index < bases; index++) {
      for (const entry of found.get(`conflicts-${index}`) ?? []) {
        if (!valuesOf(entry, 'cn').some((cn) => /\nCNF:/i.test(cn)) || seen.has(entry.dn.toLowerCase())) continue;
        seen.add(entry.dn.toLowerCase());
        entries.push(entry);
      }
    }
    return entries;
  }
}

function hasClass(entry: Entry, name: string): boolean {
  return valuesOf(entry, 'objectClass').some((c) => c.toLowerCase() === name.toLowerCase());
}
